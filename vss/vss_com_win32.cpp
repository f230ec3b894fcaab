// The COM layer under the VSS requester: COM for a thread, HRESULTs turned into Error,
// waiting for IVssAsync, BSTR and GUID text.
#include "vss/vss_internal_win32.hpp"

#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

namespace vssimg::vss {

std::string cause_of(HRESULT hr) {
  auto code = static_cast<uint32_t>(hr);
  if (find_hresult(code)) return describe_vss_hresult(code);
  return win32::describe_hresult("", hr).substr(2);  // "NAME (0x...): message" without "API"
}

void fail(std::string_view api, HRESULT hr) {
  auto code = static_cast<uint32_t>(hr);
  const HresultInfo* info = find_hresult(code);
  ErrorKind kind = code == 0x80070005u ? ErrorKind::privilege : ErrorKind::vss;
  throw VssFailure(kind, fmt::format("VSS {}", api), cause_of(hr), code,
                   info ? info->retry : Retry::no);
}

void check(std::string_view api, HRESULT hr) {
  if (FAILED(hr)) fail(api, hr);
}

namespace {

// After Cancel: waits (bounded by `settle_seconds`) until the operation reaches a final
// status. True when it finished anyway (the cancel came too late: e.g. the shadow copy
// set of a DoSnapshotSet exists now and must be deleted).
bool settle_after_cancel(IVssAsync* async, DWORD slice_ms, double settle_seconds) {
  const double deadline = monotonic_seconds() + settle_seconds;
  for (;;) {
    HRESULT status = S_OK;
    if (FAILED(async->QueryStatus(&status, nullptr))) return false;
    if (status == VSS_S_ASYNC_FINISHED) return true;
    if (status != VSS_S_ASYNC_PENDING || monotonic_seconds() >= deadline) return false;
    if (FAILED(async->Wait(slice_ms))) ::Sleep(slice_ms);
  }
}

// Cancel()s `async` and waits for it to settle; then throws `error`.
template <typename E>
[[noreturn]] void cancel_and_throw(IVssAsync* async, DWORD slice_ms, const SnapshotOptions& options,
                                   bool* finished_anyway, const E& error) {
  async->Cancel();
  const bool finished = settle_after_cancel(async, slice_ms, options.timeout_seconds);
  if (finished_anyway) *finished_anyway = finished;
  throw error;
}

// Waits for an IVssAsync in slices; Cancel()s it on Ctrl+C and at the deadline.
void wait_async(IVssAsync* async, std::string_view api, const SnapshotOptions& options,
                bool* finished_anyway) {
  const double deadline = monotonic_seconds() + options.timeout_seconds;
  const auto slice_ms = static_cast<DWORD>(std::max(1.0, options.wait_slice_seconds * 1000));
  for (;;) {
    const double before = monotonic_seconds();
    HRESULT waited = async->Wait(slice_ms);
    HRESULT status = S_OK;
    HRESULT queried = async->QueryStatus(&status, nullptr);
    if (FAILED(queried)) fail(fmt::format("{} (QueryStatus)", api), queried);
    if (status == VSS_S_ASYNC_FINISHED) return;
    if (status == VSS_S_ASYNC_CANCELLED) {
      throw VssFailure(ErrorKind::vss, fmt::format("VSS {}", api), "the operation was cancelled",
                       static_cast<uint32_t>(status), Retry::no);
    }
    if (status != VSS_S_ASYNC_PENDING) fail(api, FAILED(status) ? status : E_UNEXPECTED);
    if (interrupt_requested()) {
      cancel_and_throw(async, slice_ms, options, finished_anyway,
                       Error(ErrorKind::interrupted, fmt::format("VSS {}", api), "",
                             fmt::format("{}; the operation was cancelled and the backup aborted",
                                         interrupt_cause())));
    }
    if (monotonic_seconds() >= deadline) {
      cancel_and_throw(
          async, slice_ms, options, finished_anyway,
          VssFailure(ErrorKind::vss, fmt::format("VSS {}", api),
                     fmt::format("did not finish within {:g} s (--vss-timeout); the operation "
                                 "was cancelled and the backup aborted",
                                 options.timeout_seconds),
                     0, Retry::no));
    }
    // A Wait that failed at once must not turn this into a busy loop.
    if (FAILED(waited) && monotonic_seconds() - before < options.wait_slice_seconds / 2) {
      ::Sleep(slice_ms);
    }
  }
}

// The real COM calls. IGlobalOptions: COM must not swallow exceptions of VSS callbacks
// ("Security Considerations for Requesters").
HRESULT disable_com_exception_handling() {
  ComPtr<IGlobalOptions> options;
  HRESULT hr = ::CoCreateInstance(CLSID_GlobalOptions, nullptr, CLSCTX_INPROC_SERVER,
                                  IID_IGlobalOptions, reinterpret_cast<void**>(options.put()));
  if (FAILED(hr)) return hr;
  return options->Set(COMGLB_EXCEPTION_HANDLING, COMGLB_EXCEPTION_DONOT_HANDLE);
}

}  // namespace

void run_async(std::string_view api, HRESULT started, ComPtr<IVssAsync>& async,
               const SnapshotOptions& options, bool* finished_anyway) {
  check(api, started);
  wait_async(async.get(), api, options, finished_anyway);
  async.reset();
}

ComCalls system_com_calls() {
  ComCalls calls;
  calls.initialize = [] { return ::CoInitializeEx(nullptr, COINIT_MULTITHREADED); };
  // As Microsoft's requester documentation has it: packet privacy, impersonation
  // allowed, static cloaking. Without it Windows logs event 8194 for every writer.
  calls.initialize_security = [] {
    return ::CoInitializeSecurity(nullptr, -1, nullptr, nullptr, RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                                  RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_STATIC_CLOAKING,
                                  nullptr);
  };
  calls.disable_exception_handling = disable_com_exception_handling;
  calls.uninitialize = [] { ::CoUninitialize(); };
  return calls;
}

struct ComProcess::State {
  ComCalls calls;
  std::mutex mutex;
  bool ready = false;
  bool uninitialize = false;
};

ComProcess::ComProcess(ComCalls calls) : m_state(std::make_unique<State>()) {
  m_state->calls = std::move(calls);
}

ComProcess::~ComProcess() {
  if (m_state->uninitialize) m_state->calls.uninitialize();
}

void ComProcess::ensure(ProgressSink& progress) {
  std::lock_guard lock(m_state->mutex);
  if (m_state->ready) return;
  if (!m_state->uninitialize) {
    HRESULT hr = m_state->calls.initialize();
    if (hr == S_OK || hr == S_FALSE) {
      m_state->uninitialize = true;
    } else if (hr != RPC_E_CHANGED_MODE) {
      throw Error(ErrorKind::vss, "VSS CoInitializeEx", "", cause_of(hr));
    }
  }
  HRESULT hr = m_state->calls.initialize_security();
  if (hr == RPC_E_TOO_LATE) {
    progress.info(
        "VSS CoInitializeSecurity: RPC_E_TOO_LATE: the process security was set "
        "before; going on with it");
  } else if (FAILED(hr)) {
    throw Error(ErrorKind::vss, "VSS CoInitializeSecurity", "", cause_of(hr));
  }
  hr = m_state->calls.disable_exception_handling();
  if (FAILED(hr)) {
    progress.info(fmt::format("COM IGlobalOptions (COMGLB_EXCEPTION_DONOT_HANDLE): {}; going on",
                              cause_of(hr)));
  }
  m_state->ready = true;
}

std::string bstr_text(BSTR s) {
  return s ? win32::narrow(std::wstring_view(s, ::SysStringLen(s))) : "";
}

std::string guid_string(const GUID& g) {
  return fmt::format("{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}",
                     g.Data1, g.Data2, g.Data3, g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3],
                     g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7]);
}

GUID parse_guid(const std::string& text) {
  GUID guid{};
  std::wstring wide = win32::widen(text);
  if (FAILED(::CLSIDFromString(wide.c_str(), &guid))) {
    throw Error(ErrorKind::usage, "reading snapshot id", text, "not a GUID like {12345678-...}");
  }
  return guid;
}

}  // namespace vssimg::vss

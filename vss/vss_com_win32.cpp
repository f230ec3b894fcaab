// The COM layer under the VSS requester: COM for a thread, HRESULTs turned into Error,
// waiting for IVssAsync, BSTR and GUID text.
#include "vss/vss_internal_win32.hpp"

#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>

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

// Waits for an IVssAsync in slices; Cancel()s it on Ctrl+C and at the deadline.
void wait_async(IVssAsync* async, std::string_view api, const SnapshotOptions& options) {
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
      async->Cancel();
      throw Error(ErrorKind::interrupted, fmt::format("VSS {}", api), "",
                  "interrupted by the user; the operation was cancelled and the backup aborted");
    }
    if (monotonic_seconds() >= deadline) {
      async->Cancel();
      throw VssFailure(
          ErrorKind::vss, fmt::format("VSS {}", api),
          fmt::format("did not finish within {:g} s (--vss-timeout); the operation was "
                      "cancelled and the backup aborted",
                      options.timeout_seconds),
          0, Retry::no);
    }
    // A Wait that failed at once must not turn this into a busy loop.
    if (FAILED(waited) && monotonic_seconds() - before < options.wait_slice_seconds / 2) {
      ::Sleep(slice_ms);
    }
  }
}

}  // namespace

void run_async(std::string_view api, HRESULT started, ComPtr<IVssAsync>& async,
               const SnapshotOptions& options) {
  check(api, started);
  wait_async(async.get(), api, options);
  async.reset();
}

ComScope::ComScope() {
  HRESULT hr = ::CoInitializeEx(nullptr, COINIT_MULTITHREADED);
  if (hr == S_OK || hr == S_FALSE) {
    m_uninitialize = true;
  } else if (hr != RPC_E_CHANGED_MODE) {
    throw Error(ErrorKind::vss, "VSS CoInitializeEx", "", cause_of(hr));
  }
  // Once per process; RPC_E_TOO_LATE means someone (an earlier call) already did it.
  static const HRESULT security =
      ::CoInitializeSecurity(nullptr, -1, nullptr, nullptr, RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                             RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_STATIC_CLOAKING, nullptr);
  (void)security;
}

ComScope::~ComScope() {
  if (m_uninitialize) ::CoUninitialize();
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

@echo off
rem ---------------------------------------------------------------------------
rem vssimg nightly job: back up a volume, apply the retention policy, verify one
rem slice of the store, and end with an exit code Task Scheduler records as the
rem task's "Last Run Result". See docs/scheduling.md.
rem
rem Settings come from environment variables (defaults below), so one copy of
rem this file serves every server; register-task.ps1 writes a small wrapper that
rem sets them. Paths may contain blanks; a trailing backslash is dropped (inside
rem quotes cmd.exe would hand \" on as a quote), so C:\ is C: and
rem \\?\Volume{GUID}\ is \\?\Volume{GUID}, the same volume for vssimg.
rem   VSSIMG_EXE            vssimg.exe
rem   VSSIMG_STORE          the store: a UNC path (SYSTEM sees no mapped drives)
rem   VSSIMG_SOURCE         volume to back up: C:  D:\mnt\my data  \\?\Volume{GUID}\
rem   VSSIMG_LOG            log file; vssimg and this script append to it
rem   VSSIMG_KEEP           retention flags for forget
rem   VSSIMG_HOST           the host name this server's points carry (COMPUTERNAME):
rem                         backup records it and forget applies the policy to
rem                         those points only, in a store several servers share
rem   VSSIMG_BACKUP_FLAGS   extra backup flags (--snapshot=never for an image file)
rem   VSSIMG_VERIFY_SLICES  verify reads 1/N of the store a night (7: all in a week)
rem   VSSIMG_VERIFY_TIME    upper limit for verify's reading (2h)
rem   VSSIMG_STATE_DIR      where the slice counter lives (the log's folder)
rem Exit code: 0 all done; 3 done with warnings; otherwise the exit code of the
rem step that failed (10 store not found, 11 locked, 12 damage, 13 VSS, ...).
rem Any code this script does not know is passed on as a failure.
rem ---------------------------------------------------------------------------
setlocal EnableExtensions
if not defined VSSIMG_EXE set "VSSIMG_EXE=%ProgramFiles%\vssimg\vssimg.exe"
if not defined VSSIMG_STORE set "VSSIMG_STORE=\\backupserver\images\%COMPUTERNAME%"
if not defined VSSIMG_SOURCE set "VSSIMG_SOURCE=C:"
if not defined VSSIMG_LOG set "VSSIMG_LOG=%ProgramData%\vssimg\nightly.log"
if not defined VSSIMG_HOST set "VSSIMG_HOST=%COMPUTERNAME%"
if not defined VSSIMG_KEEP set "VSSIMG_KEEP=--keep-daily 7 --keep-weekly 4 --keep-monthly 12"
if not defined VSSIMG_VERIFY_SLICES set "VSSIMG_VERIFY_SLICES=7"
if not defined VSSIMG_VERIFY_TIME set "VSSIMG_VERIFY_TIME=2h"
if not defined VSSIMG_STATE_DIR for %%F in ("%VSSIMG_LOG%") do set "VSSIMG_STATE_DIR=%%~dpF"
if not exist "%VSSIMG_STATE_DIR%" mkdir "%VSSIMG_STATE_DIR%"
set "VSSIMG_SOURCE=%VSSIMG_SOURCE:"=%"
if "%VSSIMG_SOURCE:~-1%"=="\" set "VSSIMG_SOURCE=%VSSIMG_SOURCE:~0,-1%"
if "%VSSIMG_STORE:~-1%"=="\" set "VSSIMG_STORE=%VSSIMG_STORE:~0,-1%"

rem Tonight's verify slice: 1..N, one further than the last slice verified. The
rem counter file is written only after that slice verified (exit 0 or 3), so a
rem failed night verifies the same slice again the next night.
set "SLICE_FILE=%VSSIMG_STATE_DIR%\vssimg-verify-slice.txt"
set "SLICE=0"
if exist "%SLICE_FILE%" set /p SLICE=<"%SLICE_FILE%"
set /a SLICE=SLICE %% VSSIMG_VERIFY_SLICES + 1
set "FINAL=0"
call :say "started: backup of %VSSIMG_SOURCE% to %VSSIMG_STORE%, verify slice %SLICE%/%VSSIMG_VERIFY_SLICES%"

rem --- 1. Backup -------------------------------------------------------------
"%VSSIMG_EXE%" --store "%VSSIMG_STORE%" --log-file "%VSSIMG_LOG%" backup "%VSSIMG_SOURCE%" --host "%VSSIMG_HOST%" %VSSIMG_BACKUP_FLAGS%
set "RC=%ERRORLEVEL%"
call :explain backup %RC%
if "%RC%"=="0" goto retention
if "%RC%"=="3" (
  rem A degraded point (crash-consistent, bad sectors) must not push good older
  rem points out of the policy: forget nothing tonight, verify, report 3. Prune
  rem still runs on its night: it removes only data no point refers to.
  set "FINAL=3"
  call :say "retention skipped: the new point has warnings; older points are kept"
  if "%SLICE%"=="1" goto prune_only
  goto verify
)
rem 1, 2, 10, 11, 13, 14, 130 and unknown codes: no point was written tonight.
set "FINAL=%RC%"
goto end

rem --- 2. Retention (prune on the first slice of each round, once a week) ---
:retention
set "PRUNE="
if "%SLICE%"=="1" set "PRUNE=--prune"
"%VSSIMG_EXE%" --store "%VSSIMG_STORE%" --log-file "%VSSIMG_LOG%" forget --source "%VSSIMG_SOURCE%" --host "%VSSIMG_HOST%" %VSSIMG_KEEP% %PRUNE%
set "RC=%ERRORLEVEL%"
call :explain forget %RC%
if "%RC%"=="0" goto verify
if "%RC%"=="3" (
  set "FINAL=3"
  goto verify
)
if "%RC%"=="11" (
  rem Someone else holds the store (a restore?): tonight's point is safe;
  rem retention runs again tomorrow.
  set "FINAL=3"
  goto verify
)
set "FINAL=%RC%"
goto end

rem --- 2b. Prune alone, after a backup with warnings (exit 3) -------------------
:prune_only
"%VSSIMG_EXE%" --store "%VSSIMG_STORE%" --log-file "%VSSIMG_LOG%" prune
set "RC=%ERRORLEVEL%"
call :explain prune %RC%
if "%RC%"=="0" goto verify
if "%RC%"=="3" goto verify
if "%RC%"=="11" goto verify
set "FINAL=%RC%"
goto end

rem --- 3. Verify one slice of the store ---------------------------------------
:verify
"%VSSIMG_EXE%" --store "%VSSIMG_STORE%" --log-file "%VSSIMG_LOG%" verify --subset %SLICE%/%VSSIMG_VERIFY_SLICES% --max-duration %VSSIMG_VERIFY_TIME%
set "RC=%ERRORLEVEL%"
call :explain verify %RC%
if "%RC%"=="0" (
  >"%SLICE_FILE%" echo %SLICE%
  goto end
)
if "%RC%"=="3" (
  >"%SLICE_FILE%" echo %SLICE%
  if "%FINAL%"=="0" set "FINAL=3"
  goto end
)
set "FINAL=%RC%"
goto end

:end
call :say "finished with exit code %FINAL%"
endlocal & exit /b %FINAL%

rem --- helpers -----------------------------------------------------------------
:explain
rem %1 step, %2 its exit code: say what the code means (the table of README).
set "MEANING=unknown exit code: treated as failure"
if "%2"=="0" set "MEANING=success"
if "%2"=="1" set "MEANING=failed; the log names the operation, the object and the cause"
if "%2"=="2" set "MEANING=usage error: check the flags in this script and its variables"
if "%2"=="3" set "MEANING=done with warnings (e.g. a VSS writer failed: the point is crash-consistent)"
if "%2"=="10" set "MEANING=store not found: is the UNC path right, and may this account reach it?"
if "%2"=="11" set "MEANING=store locked by another vssimg process"
if "%2"=="12" set "MEANING=DAMAGE in the store: run vssimg verify --read-data; do not prune"
if "%2"=="13" set "MEANING=VSS failed, no snapshot: run vssimg list-writers; check shadow storage"
if "%2"=="14" set "MEANING=not elevated: run as SYSTEM, or with highest privileges"
if "%2"=="130" set "MEANING=interrupted; nothing committed is lost"
call :say "%1 exit code %2: %MEANING%"
goto :eof

:say
rem One line on the console and in the log, stamped like vssimg's own log lines
rem (ISO 8601, local time: %DATE% %TIME% depend on the locale). Without
rem PowerShell (Windows always has it) the stamp falls back to %DATE% %TIME%.
echo vssimg nightly: %~1
set "NOW="
for /f "delims=" %%T in ('powershell -NoProfile -NonInteractive -Command "Get-Date -Format 'yyyy-MM-dd HH:mm:ss'" 2^>nul') do set "NOW=%%T"
if not defined NOW set "NOW=%DATE% %TIME%"
>>"%VSSIMG_LOG%" echo %NOW% [nightly] %~1
goto :eof

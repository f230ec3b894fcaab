@echo off
rem The schtasks.exe equivalent of register-task.ps1, from an elevated prompt.
rem Expects %ProgramData%\vssimg\nightly-task.cmd (see register-task.ps1 or
rem docs/scheduling.md for its content). schtasks /Create sets MultipleInstances
rem to IgnoreNew by default; /RU SYSTEM /RL HIGHEST run it as SYSTEM, elevated.
schtasks /Create /F /TN "\vssimg\vssimg nightly backup" /SC DAILY /ST 01:00 /RU SYSTEM /RL HIGHEST /TR "%SystemRoot%\System32\cmd.exe /d /c \"%ProgramData%\vssimg\nightly-task.cmd\""
if errorlevel 1 exit /b %ERRORLEVEL%
rem With every setting of the exported XML (time limit, battery, missed runs):
rem   schtasks /Create /F /TN "\vssimg\vssimg nightly backup" /XML "%~dp0vssimg-nightly.xml" /RU SYSTEM

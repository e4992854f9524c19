#!/usr/bin/env python3
"""Appends the demo as its parties would (docs/demo.md, "Who attests what").

The administrator (the plain-text loopback port: the embedded server's local administrator)
appends the set-up (credentials/setup.ndjson), the registrations of parties and facilities with
each party's signing key right after its registration (credentials/keys.ndjson), and the
audit's correction (a retraction with its corrective events, one atomic batch across two
parties' facilities). Every other fact is appended by its actor over mutual TLS with the actor's
own client certificate and signed with the actor's own Ed25519 key. Consecutive events of one
caller go in one batch, in the file's order. Idempotent: a second run finds every event there.

usage: load_demo.py LODECTL PLAIN_ADDRESS TLS_ADDRESS CREDENTIALS_DIR DEMO_NDJSON
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ADMIN = None  # the local administrator: plain text on loopback


def main():
    lodectl, plain, tls, creds, demo = sys.argv[1:6]
    keys = {}
    for line in open(os.path.join(creds, "keys.ndjson")):
        if line.strip():
            keys[json.loads(line)["signingKeyRegistered"]["partyId"]] = line.rstrip("\n")
    lines = [l.rstrip("\n") for l in open(os.path.join(creds, "setup.ndjson")) if l.strip()]
    lines += [l.rstrip("\n") for l in open(demo) if l.strip()]

    batches = []  # [caller, [lines]]
    corrective = set()

    def add(caller, line):
        if batches and batches[-1][0] == caller:
            batches[-1][1].append(line)
        else:
            batches.append([caller, [line]])

    for line in lines:
        event = json.loads(line)
        if event["eventId"] in corrective:
            add(ADMIN, line)
        elif "partyRegistered" in event or "facilityRegistered" in event or "roleGranted" in event:
            add(ADMIN, line)
            party = event.get("partyRegistered", {}).get("partyId")
            if party in keys:
                add(ADMIN, keys.pop(party))
        elif "eventRetracted" in event and event["eventRetracted"].get("correctiveEventIds"):
            corrective.update(event["eventRetracted"]["correctiveEventIds"])
            add(ADMIN, line)
        else:
            add(event["actor"], line)

    accepted = duplicate = signed = 0
    callers = set()
    with tempfile.TemporaryDirectory() as work:
        for index, (caller, batch) in enumerate(batches):
            path = os.path.join(work, f"batch-{index}.ndjson")
            with open(path, "w") as out:
                out.write("\n".join(batch) + "\n")
            command = [lodectl, "--progress=false"]
            if caller is ADMIN:
                command.append(f"--server={plain}")
            else:
                party = os.path.join(creds, "parties", caller)
                command += [f"--server={tls}", f"--tls_ca={os.path.join(creds, 'ca.crt')}",
                            f"--tls_cert={party}.crt", f"--tls_key={party}.key",
                            f"--signing_key={party}.signing.pem"]
                signed += len(batch)
            callers.add(caller or "lodestone-admin")
            done = subprocess.run(command + ["append", path], capture_output=True, text=True)
            counts = re.search(r"(\d+) accepted, (\d+) duplicate", done.stdout)
            if done.returncode != 0 or counts is None:
                sys.stderr.write(f"batch {index} by {caller or 'the administrator'} failed:\n"
                                 f"{done.stdout}{done.stderr}")
                return 1
            accepted += int(counts.group(1))
            duplicate += int(counts.group(2))
    print(f"demo: {accepted} accepted, {duplicate} duplicate, in {len(batches)} batches by "
          f"{len(callers)} callers; {signed} events signed by their parties over mutual TLS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

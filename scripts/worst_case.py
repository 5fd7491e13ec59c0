#!/usr/bin/env python3
"""Issue 19's "done when": while 3 clients post worst-case 1 MiB `$dispense` bodies at the caps
(1,000 dosage instructions with long free texts, for tasks whose secrets they hold) over and over,
how fast /health/live and a valid `$dispense` of another task answer.

Usage: worst_case.py BASE_URL PHARMACY_TOKEN TASKS_FILE BODY_TEMPLATE SECONDS
TASKS_FILE has 4 lines "<id> <secret> <kvnr>" (prepare_tasks.py); BODY_TEMPLATE is a one-dispensation
JSON body with {{id}} and {{kvnr}} placeholders (fixtures/scenarios/bodies/dispense-1.6.json)."""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

base, token, tasks_file, template_file, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
tasks = [line.split() for line in open(tasks_file) if line.strip()]
template = open(template_file).read()


def body_for(task, dosages=0):
    text = template.replace("{{id}}", task[0]).replace("{{kvnr}}", task[2])
    if not dosages:
        return text.encode()
    document = json.loads(text)
    for parameter in document["parameter"]:
        for part in parameter.get("part", []):
            resource = part.get("resource", {})
            if resource.get("resourceType") == "MedicationDispense":
                filler = "1-0-1 " * 160
                resource["dosageInstruction"] = [{"text": f"{i} {filler}"} for i in range(dosages)]
    return json.dumps(document).encode()


def post(task, body):
    request = urllib.request.Request(f"{base}/Task/{task[0]}/$dispense?secret={task[1]}", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


heavy = [body_for(task, 1000) for task in tasks[:3]]
print(f"worst-case bodies: {[len(b) for b in heavy]} bytes")
stop = time.monotonic() + seconds
heavy_results = []


def attacker(task, body):
    while time.monotonic() < stop:
        started = time.monotonic()
        status = post(task, body)
        heavy_results.append((status, time.monotonic() - started))


threads = [threading.Thread(target=attacker, args=(task, body)) for task, body in zip(tasks[:3], heavy)]
for thread in threads:
    thread.start()
time.sleep(0.5)
live, dispense, statuses = [], [], []
valid = body_for(tasks[3])
while time.monotonic() < stop:
    started = time.monotonic()
    urllib.request.urlopen(f"{base}/health/live", timeout=30).read()
    live.append(time.monotonic() - started)
    started = time.monotonic()
    statuses.append(post(tasks[3], valid))
    dispense.append(time.monotonic() - started)
    time.sleep(0.05)
for thread in threads:
    thread.join()


def summary(name, values):
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    print(f"{name}: n={len(values)} median={statistics.median(values) * 1000:.1f} ms p99={p99 * 1000:.1f} ms max={values[-1] * 1000:.1f} ms")


summary("/health/live", live)
summary("valid $dispense (other task)", dispense)
summary("worst-case $dispense", [d for _, d in heavy_results])
print(f"valid $dispense statuses: {sorted(set(statuses))}; worst-case statuses: {sorted(set(s for s, _ in heavy_results))}")

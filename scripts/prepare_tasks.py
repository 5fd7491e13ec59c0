#!/usr/bin/env python3
"""Creates N tasks through the API and brings them to in-progress (create, activate, accept), as a
pharmacy benchmark needs them; prints one line per task: "<PrescriptionID> <secret> <KVNR>".
Each task has its own insured person (B000000001, B000000002, …), as a pharmacy's load spreads over
many people: the registry relay serves one insured person's transfers strictly in order.

Usage: prepare_tasks.py BASE_URL DOCTOR_TOKEN PHARMACY_TOKEN COUNT
The server must run with --accept-unsigned (the prescription is an unsigned KBV-style bundle)."""
import json
import sys
import urllib.request

FLOW = "https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_FlowType"
PID = "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId"


def call(base, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(base + path, data=data, method="POST", headers={
        "Authorization": "Bearer " + token, "Accept": "application/fhir+json",
        "Content-Type": "application/fhir+json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def identifier(task, suffix):
    return next(i["value"] for i in task["identifier"] if i["system"].endswith(suffix))


def main():
    base, doctor, pharmacy, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    for number in range(1, count + 1):
        kvnr = "B%09d" % number
        task = call(base, "/Task/$create", doctor, {"resourceType": "Parameters", "parameter": [
            {"name": "workflowType", "valueCoding": {"system": FLOW, "code": "160"}}]})
        task_id, access_code = task["id"], identifier(task, "AccessCode")
        bundle = {"resourceType": "Bundle", "identifier": {"system": PID, "value": task_id}, "type": "document", "entry": [
            {"fullUrl": "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01", "resource": {"resourceType": "Patient", "identifier": [
                {"system": "http://fhir.de/sid/gkv/kvid-10", "value": kvnr}]}},
            {"fullUrl": "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b02", "resource": {
                "resourceType": "MedicationRequest", "status": "active", "intent": "order",
                "subject": {"reference": "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01"}, "authoredOn": "2026-10-01"}}]}
        call(base, f"/Task/{task_id}/$activate?ac={access_code}", doctor, bundle)
        accepted = call(base, f"/Task/{task_id}/$accept?ac={access_code}", pharmacy)
        print(task_id, identifier(accepted["entry"][0]["resource"], "Secret"), kvnr)


if __name__ == "__main__":
    main()

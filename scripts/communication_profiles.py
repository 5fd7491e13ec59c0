#!/usr/bin/env python3
"""Writes erx's own definitions of the FD's Communication profiles (gematik workflow 1.5 and 1.6:
DispReq, Reply, Representative, DiGA, with the extensions and value sets they use) into
profiles/definitions/, from the facts of the official packages' snapshots.

The machinery is scripts/kbv_profiles.py's (differential on R4 core, descriptive texts left out,
invariants with key, severity and expression, our own `human` text); see profiles/README.md,
"Communication".

Usage: scripts/communication_profiles.py [DEFINITIONS_DIR [OUT_DIR]]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbv_profiles as k  # noqa: E402

GEM_SD = "https://gematik.de/fhir/erp/StructureDefinition/"
# Our version of each set and the official package (with snapshots) it is read from.
SETS = [("1.5", "de.gematik.erezept-workflow.r4-1.5.2"), ("1.6", "de.gematik.erezept-workflow.r4-1.6.1")]
TYPES = ["DispReq", "Reply", "Representative", "DiGA"]
# Extensions: newest package first.
k.EXT_PACKAGES = ["de.gematik.erezept-workflow.r4-1.6.1", "de.gematik.erezept-workflow.r4-1.5.2",
                  "de.basisprofil.r4-1.5.4", "hl7.fhir.r4.core-4.0.1"]
k.SHIP_VS = {
    "https://gematik.de/fhir/erp/ValueSet/GEM_ERP_VS_FlowType": "flow type of the prescription",
    "https://gematik.de/fhir/erp/ValueSet/GEM_ERP_VS_AvailabilityStatus": "availability of the medicine",
}
k.VS_PACKAGES = ["de.gematik.erezept-workflow.r4-1.6.1", "de.gematik.erezept-workflow.r4-1.5.2"]


def human(key, path):
    return f"gematik rule {key} (wording: official package)."


k.human = human


class Writer(k.Writer):
    def profile_ref(self, url):
        url = k.strip_version(url)
        if url.startswith(GEM_SD + "GEM_ERP_PR_Communication"):
            return url + "|" + self.version
        return None


def main():
    written = []
    extensions = set()
    left_out = set()
    for version, package in SETS:
        w = Writer(version, version)
        definitions = k.load_dir(package)
        for name in TYPES:
            sd = definitions[GEM_SD + "GEM_ERP_PR_Communication_" + name]
            diff = w.prune(w.differential(sd))
            desc = (f"erx profile, gematik workflow {version}: {sd['name']}. Written from the facts of "
                    f"{package.replace('-', ' ')} (snapshot); self-contained on R4 core.")
            k.write(k.sd_resource(sd, version, diff, desc), f"StructureDefinition-{sd['name']}-{version}.json")
            written.append(sd["name"] + "|" + version)
        extensions |= w.extensions
        left_out |= w.bindings
    # Extensions as major.minor, like the profiles (`1.6`, not `1.6.1`).
    left_out |= k.write_extensions(extensions, lambda: Writer("1.6", "1.6"), written,
                                   version_of=lambda sd: ".".join(sd.get("version", "0").split(".")[:2]))
    k.write_value_sets(written)
    for line in sorted(written):
        print("wrote", line)
    for vs, where in sorted(left_out):
        print("binding left out:", vs, where)


if __name__ == "__main__":
    main()

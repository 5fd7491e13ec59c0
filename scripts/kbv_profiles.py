#!/usr/bin/env python3
"""Writes erx's own KBV e-prescription definitions (kbv.ita.erp 1.3 and 1.4 with the kbv.ita.for
profiles they use) into profiles/definitions/, from the facts of the official packages.

For each official profile the facts that differ from R4 core are read from its snapshot (cardinality,
types and target profiles, fixed and pattern values, slicing, required bindings to the value sets we
ship, invariants with key, severity and expression) and written as a differential on the R4 core
resource. Descriptive texts (short, definition, comment, requirements, mappings, invariant `human`)
are not carried over; invariant texts are ours. Identifier and datatype profiles of the parents are
folded in (only their constraints that the snapshot states are kept); extension slices name our own
extension definitions, which are written the same way. See profiles/README.md, "KBV prescription".

Usage: scripts/kbv_profiles.py [DEFINITIONS_DIR [OUT_DIR]]
"""
import glob
import json
import os
import re
import sys

PKG = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/definitions"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "profiles", "definitions")

# Our version of each profile set, the official package it is read from, and the kbv.ita.for version
# the erp version references.
SETS = [
    ("1.3", "kbv.ita.erp-1.3.3", "1.2", "kbv.ita.for-1.2.1"),
    ("1.4", "kbv.ita.erp-1.4.1", "1.3", "kbv.ita.for-1.3.1"),
]
ERP = ["Bundle", "Composition", "Prescription", "Medication_PZN", "Medication_Compounding",
       "Medication_FreeText", "Medication_Ingredient", "PracticeSupply"]
FOR = ["Patient", "Practitioner", "Organization", "Coverage", "PractitionerRole"]
# The DiGA prescription (flow type 162): kbv.itv.evdga 1.2 on kbv.ita.for 1.2. The official package is
# not among the fixture definitions; it is read from EVDGA_PKG (a directory with the unpacked package,
# e.g. from IBM's `resources/fhir/kbv.itv.evdga-1.2.2.tgz`) and skipped when that is not given.
EVDGA_SET = ("1.2", "kbv.itv.evdga-1.2.2", "1.2")
EVDGA = ["Bundle", "Composition", "HealthAppRequest"]
EVDGA_PKG = os.environ.get("EVDGA_PKG")
KBV_SD = "https://fhir.kbv.de/StructureDefinition/"

# Extension definitions are looked up in these packages, first match wins (newest first).
EXT_PACKAGES = ["kbv.ita.erp-1.4.1", "kbv.ita.for-1.3.1", "kbv.basis-1.7.0", "de.basisprofil.r4-1.5.4",
                "gematik.kbv.sfhir.cs.vs-1.7.0", "hl7.fhir.r4.core-4.0.1", "kbv.ita.erp-1.3.3", "kbv.ita.for-1.2.1",
                "de.basisprofil.r4-1.3.2", "kbv.basis-1.3.0"]
# Extensions we already ship (written for the workflow profiles).
EXT_EXISTING = {
    "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
    "http://fhir.de/StructureDefinition/normgroesse",
    "http://ig.fhir.de/igs/medication/StructureDefinition/GeneratedDosageInstructionsMeta",
}

# Value sets of required bindings that we ship (small code lists); every other binding is left out.
# Written as code lists (system and codes, no displays, no CodeSystem: displays are not checked).
SHIP_VS = {
    "https://fhir.kbv.de/ValueSet/KBV_VS_SFHIR_KBV_STATUSKENNZEICHEN": "legal basis (Statuskennzeichen)",
    "https://fhir.kbv.de/ValueSet/KBV_VS_FOR_Payor_type": "coverage type",
    "https://fhir.kbv.de/ValueSet/KBV_VS_ERP_Medication_Category": "medication category",
    "https://fhir.kbv.de/ValueSet/KBV_VS_FOR_Qualification_Type": "qualification type of the prescriber",
    "https://fhir.kbv.de/ValueSet/KBV_VS_SFHIR_KBV_PERSONENGRUPPE": "special group of insured persons",
    "https://fhir.kbv.de/ValueSet/KBV_VS_SFHIR_KBV_VERSICHERTENSTATUS": "insurance status",
    "https://fhir.kbv.de/ValueSet/KBV_VS_SFHIR_ITA_WOP": "WOP region code",
    "https://fhir.kbv.de/ValueSet/KBV_VS_SFHIR_KBV_DMP": "disease management programme code",
    "https://fhir.kbv.de/ValueSet/KBV_VS_Base_Medication_Type": "medication type (SNOMED CT, two codes)",
    "https://fhir.kbv.de/ValueSet/KBV_VS_SFHIR_KBV_NARCOTIC_LABEL": "narcotic special label",
    "https://fhir.kbv.de/ValueSet/KBV_VS_SFHIR_KBV_PKV_TARIFF": "private insurance tariff",
    "https://fhir.kbv.de/ValueSet/KBV_VS_ERP_StatusCoPayment": "co-payment status",
    "https://fhir.kbv.de/ValueSet/KBV_VS_ERP_Accident_Type": "accident type",
    "http://fhir.de/ValueSet/gender-other-de": "official German gender codes",
    "https://fhir.kbv.de/ValueSet/KBV_VS_Base_Role_Care": "role of the care organisation",
}
# Value sets we already ship (written for the workflow profiles): bindings to them are kept.
EXISTING_VS = {"https://fhir.kbv.de/ValueSet/KBV_VS_SFHIR_KBV_NORMGROESSE", "http://hl7.org/fhir/ValueSet/data-absent-reason"}
# Where value sets and code systems are read, newest first.
VS_PACKAGES = ["kbv.ita.erp-1.4.1", "kbv.ita.for-1.3.1", "gematik.kbv.sfhir.cs.vs-1.7.0", "kbv.basis-1.7.0",
               "de.basisprofil.r4-1.5.4", "de.basisprofil.r4-1.5.2", "kbv.all.st-1.32.0"]

TEXT_KEYS = {"short", "definition", "comment", "requirements", "alias", "mapping", "meaningWhenMissing",
             "isModifierReason", "example", "mustSupport", "isSummary", "isModifier", "base", "condition",
             "representation", "label", "code", "orderMeaning", "minValueInteger", "maxValueInteger",
             "defaultValueBoolean", "maxLength"}


def load_dir(directory):
    out = {}
    for f in glob.glob(os.path.join(PKG, directory, "*.json")):
        if f.endswith("package.json"):
            continue
        try:
            d = json.load(open(f))
        except Exception:
            continue
        if d.get("resourceType") in ("StructureDefinition", "ValueSet", "CodeSystem") and "url" in d:
            out[d["url"]] = d
    return out


CORE = load_dir("hl7.fhir.r4.core-4.0.1")
CORE_ELEMENTS = {}


def core_elements(type_code):
    if type_code not in CORE_ELEMENTS:
        sd = CORE.get("http://hl7.org/fhir/StructureDefinition/" + type_code)
        CORE_ELEMENTS[type_code] = {e["path"]: e for e in sd["snapshot"]["element"]} if sd else {}
    return CORE_ELEMENTS[type_code]


def strip_slices(element_id):
    return ".".join(seg.split(":")[0] for seg in element_id.split("."))


class Base:
    """Finds the R4 core definition of each element of an official snapshot."""

    def __init__(self, sd):
        self.type = sd["type"]
        self.by_id = {e["id"]: e for e in sd["snapshot"]["element"]}
        self.cache = {}

    def context(self, element_id):
        """(core elements, path prefix) under which the children of `element_id` are defined."""
        if element_id in self.cache:
            return self.cache[element_id]
        result = None
        if "." not in element_id:
            result = (core_elements(self.type), self.type)
        else:
            base = self.base(element_id)
            elements, _ = self.context(element_id.rsplit(".", 1)[0])
            if base is not None and "contentReference" in base:
                result = (elements, base["contentReference"][1:])
            elif base is not None and any(p.startswith(base["path"] + ".") for p in elements):
                result = (elements, base["path"])
            else:
                own = self.by_id.get(element_id, {})
                codes = [t["code"] for t in own.get("type", [])]
                last = element_id.rsplit(".", 1)[1]
                if ":" in last and len(codes) != 1:
                    slice_name = last.split(":")[1]
                    codes = [c for c in codes if slice_name.lower().endswith(c.lower())] or codes
                if len(codes) == 1:
                    code = codes[0]
                    if code.startswith("http://hl7.org/fhirpath/"):
                        code = "string"
                    result = (core_elements(code), code)
                else:
                    result = ({}, "")
        self.cache[element_id] = result
        return result

    def base(self, element_id):
        if "." not in element_id:
            return core_elements(self.type).get(self.type)
        parent, last = element_id.rsplit(".", 1)
        elements, prefix = self.context(parent)
        return elements.get(prefix + "." + last.split(":")[0])


def constraint_keys(e):
    return {c["key"] for c in (e or {}).get("constraint", [])}


def human(key, path):
    return f"KBV rule {key} (wording: official package)."


def strip_version(url):
    return url.split("|")[0]


class Writer:
    def __init__(self, version, for_version):
        self.version = version
        self.for_version = for_version
        self.extensions = set()
        self.bindings = set()  # (vs, strength, profile, path) left out

    def profile_ref(self, url):
        """Our canonical for a profile reference, or None when it is not one of ours."""
        url = strip_version(url)
        if not url.startswith(KBV_SD):
            return None
        name = url[len(KBV_SD):]
        if name.startswith("KBV_PR_ERP_") and name[len("KBV_PR_ERP_"):] in ERP:
            return url + "|" + self.version
        if name.startswith("KBV_PR_FOR_") and name[len("KBV_PR_FOR_"):] in FOR:
            return url + "|" + self.for_version
        if name.startswith("KBV_PR_EVDGA_") and name[len("KBV_PR_EVDGA_"):] in EVDGA:
            return url + "|" + self.version
        return None

    def types(self, types, base_types):
        out = []
        for t in types:
            code = t["code"]
            nt = {"code": code}
            if code.startswith("http://hl7.org/fhirpath/"):
                nt = {k: v for k, v in t.items() if k in ("code", "extension")}
            profiles = []
            for p in t.get("profile", []):
                if code == "Extension":
                    profiles.append(strip_version(p))
                    self.extensions.add(strip_version(p))
                else:
                    ours = self.profile_ref(p)
                    if ours:
                        profiles.append(ours)
            if profiles:
                nt["profile"] = profiles
            targets = []
            for p in t.get("targetProfile", []):
                ours = self.profile_ref(p)
                if ours:
                    targets.append(ours)
                elif strip_version(p).startswith("http://hl7.org/fhir/StructureDefinition/"):
                    targets.append(strip_version(p))
                else:
                    targets = None
                    break
            if targets:
                nt["targetProfile"] = targets
            out.append(nt)
        def norm(ts):
            return [(t["code"], tuple(strip_version(p) for p in t.get("profile", [])),
                     tuple(sorted(strip_version(p) for p in t.get("targetProfile", [])))) for t in ts]
        if norm(out) == norm(base_types or []):
            return None
        base_codes = [t["code"] for t in base_types or []]
        if [t["code"] for t in out] == base_codes and not any("profile" in t or "targetProfile" in t for t in out):
            return None
        return out

    def element(self, e, base, resource_root, inherited, in_place=False):
        """The differential of snapshot element `e` against its core `base` and, inside a slice, against
        `inherited` (the official element the slice's copy starts from: the same path without the slice)."""
        out = {"id": e["id"], "path": e["path"]}
        is_slice = "sliceName" in e
        if is_slice:
            out["sliceName"] = e["sliceName"]
        start = base if (inherited is None or is_slice) else inherited
        start_min = (start or {}).get("min", 0)
        start_max = (start or {}).get("max", "*")
        if in_place and inherited is not None:
            # Inside an extension slice: the extension definition's snapshot is the starting point, slices included.
            start, is_slice = inherited, False
            start_min, start_max = inherited.get("min", 0), inherited.get("max", "*")
        if (is_slice and e.get("min", 0) > 0) or (not is_slice and e.get("min", 0) != start_min):
            out["min"] = e.get("min", 0)
        if e.get("max", "*") != ((inherited or base or {}).get("max", "*") if is_slice else start_max) or (is_slice and inherited is None):
            out["max"] = e.get("max", "*")
        if "type" in e:
            t = self.types(e["type"], (base or {}).get("type"))
            ti = self.types(inherited["type"], (base or {}).get("type")) if inherited and "type" in inherited else None
            if t is not None and t != ti:
                out["type"] = t
        for k, v in e.items():
            if (k.startswith("fixed") or k.startswith("pattern")) and (is_slice or (inherited or {}).get(k) != v):
                out[k] = v
        if "slicing" in e and (is_slice or (inherited or {}).get("slicing") != e["slicing"]):
            s = e["slicing"]
            out["slicing"] = {k: v for k, v in s.items() if k in ("discriminator", "ordered", "rules")}
        if "binding" in e and e["binding"].get("strength") == "required":
            vs = strip_version(e["binding"].get("valueSet", ""))
            bvs = strip_version((base or {}).get("binding", {}).get("valueSet", ""))
            ivs = strip_version((inherited or {}).get("binding", {}).get("valueSet", ""))
            if vs != bvs and vs != ivs:
                if vs in SHIP_VS or vs in EXISTING_VS:
                    out["binding"] = {"strength": "required", "valueSet": vs}
                else:
                    self.bindings.add((vs, e["id"]))
        own_profile = any(self.profile_ref(p) for t in e.get("type", []) for p in t.get("profile", []))
        known = constraint_keys(base) | constraint_keys(inherited)
        new = [c for c in e.get("constraint", []) if c["key"] not in known and not own_profile
               and not c.get("source", "").startswith("http://hl7.org/fhir/StructureDefinition/")]
        if new:
            out["constraint"] = [{"key": c["key"], "severity": c["severity"], "human": human(c["key"], e["path"]),
                                  "expression": c["expression"]} for c in new if "expression" in c]
            if not out["constraint"]:
                del out["constraint"]
        return out if len(out) > 2 or e["id"] == resource_root else None

    def differential(self, sd, in_extension_def=False):
        base = Base(sd)
        root = sd["type"]
        elements = []
        skip_under = []
        # Extension slices: their content is our extension definition's, except where the profile itself
        # constrains it in place (its differential names an element inside the slice).
        extension_slices = {}
        stated = {e["id"] for e in sd.get("differential", {}).get("element", [])}
        snapshot = sd["snapshot"]["element"]
        for e in snapshot:
            eid = e["id"]
            if any(eid.startswith(p + ".") or eid.startswith(p + ":") for p in skip_under):
                continue
            inside = [p for p in extension_slices if eid.startswith(p + ".") or eid.startswith(p + ":")]
            if inside and (eid not in stated or any(eid == p + ".url" for p in inside)):
                continue
            b = base.base(eid)
            if b is None and "." in eid:
                # Not an element R4 core knows here (an expansion we do not follow); drop it and its children.
                skip_under.append(eid)
                continue
            types = e.get("type", [])
            ext_profile = [strip_version(p) for t in types if t["code"] == "Extension" for p in t.get("profile", [])]
            inherited = None
            if inside:
                # Constrained in place: against what the extension's own definition says there.
                slice_id = max(inside, key=len)
                definition = extension_snapshot(extension_slices[slice_id])
                inherited = definition.get("Extension" + eid[len(slice_id):])
                out = self.element(e, b, root, inherited, in_place=True)
                if out is not None and set(out) - {"id", "path", "sliceName"}:
                    elements.append(out)
                continue
            if ":" in eid:
                cut = eid.rindex(":")
                rest = eid[cut:]
                inherited = base.by_id.get(eid[:cut] + (rest[rest.index("."):] if "." in rest else ""))
            out = self.element(e, b, root, inherited)
            if ext_profile and eid != root:
                # An extension slice: our definition of the extension covers its content.
                extension_slices[eid] = ext_profile[0]
                if out is not None and "sliceName" in out:
                    elements.append(out)
                    elements.append({"id": eid + ".url", "path": e["path"] + ".url", "fixedUri": ext_profile[0]})
                continue
            if e["path"].endswith(".id") and e["path"].count(".") >= 1 and out is not None and set(out) - {"id", "path", "type"} == set():
                continue
            if out is not None:
                elements.append(out)
            if e.get("max") == "0" and eid != root:
                # Prohibited: what its children or slices say does not matter.
                skip_under.append(eid)
        # Drop a `meta.profile` slicing/pattern the official profile leaves open for other profiles.
        return elements

    def prune(self, elements):
        """Removes elements that say nothing (after filtering), and slicings without any slice."""
        # A type slicing of a choice whose slices only restate the one type says nothing.
        trivial = set()
        for e in elements:
            if e.get("slicing", {}).get("discriminator") == [{"type": "type", "path": "$this"}]:
                slices = [x for x in elements if x["id"].startswith(e["id"] + ":")]
                below = [x for x in elements for sl in slices if x["id"].startswith(sl["id"] + ".")]
                if not below and all(set(x) <= {"id", "path", "sliceName", "max", "type"} and x.get("max", "1") == "1"
                                     for x in slices):
                    trivial |= {x["id"] for x in slices}
                    e.pop("slicing")
        elements = [e for e in elements if e["id"] not in trivial]
        ids = [e["id"] for e in elements]
        def has_slices(element_id):
            return any(i.startswith(element_id + ":") for i in ids)
        out = []
        for e in elements:
            if "slicing" in e and not has_slices(e["id"]):
                e = {k: v for k, v in e.items() if k != "slicing"}
            if len(e) > 2 or "." not in e["id"]:
                out.append(e)
        return out


EXTENSION_SNAPSHOTS = {}


def extension_snapshot(url):
    """The official snapshot of an extension by element id (the newest package that has it)."""
    if url not in EXTENSION_SNAPSHOTS:
        found = {}
        for package in EXT_PACKAGES + ["de.fhir.medication-1.0.7"]:
            d = load_dir(package).get(url)
            if d:
                found = {e["id"]: e for e in d["snapshot"]["element"]}
                break
        EXTENSION_SNAPSHOTS[url] = found
    return EXTENSION_SNAPSHOTS[url]


def write(resource, name):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(resource, f, indent=2, ensure_ascii=False)
        f.write("\n")


def sd_resource(sd, version, differential, description, url=None):
    out = {
        "resourceType": "StructureDefinition",
        "id": re.sub(r"[^A-Za-z0-9.\-]", "-", sd["name"] + "-" + version)[:64],
        "url": url or strip_version(sd["url"]),
        "version": version,
        "name": sd["name"],
        "status": "active",
        "description": description,
        "fhirVersion": "4.0.1",
        "kind": sd["kind"],
        "abstract": False,
    }
    if "context" in sd:
        out["context"] = sd["context"]
    out["type"] = sd["type"]
    out["baseDefinition"] = "http://hl7.org/fhir/StructureDefinition/" + sd["type"]
    out["derivation"] = "constraint"
    out["differential"] = {"element": differential}
    return out


def main():
    written = []
    all_extensions = set()
    left_out = set()
    for version, erp_pkg, for_version, for_pkg in SETS:
        w = Writer(version, for_version)
        erp = load_dir(erp_pkg)
        forp = load_dir(for_pkg)
        for name in ERP:
            sd = erp[KBV_SD + "KBV_PR_ERP_" + name]
            diff = w.prune(w.differential(sd))
            desc = (f"erx profile, KBV e-prescription {version}: {sd['name']}. Written from the facts of "
                    f"{erp_pkg.replace('-', ' ')} (snapshot); self-contained on R4 core.")
            write(sd_resource(sd, version, diff, desc), f"StructureDefinition-{sd['name']}-{version}.json")
            written.append(sd["name"] + "|" + version)
        for name in FOR:
            sd = forp[KBV_SD + "KBV_PR_FOR_" + name]
            diff = w.prune(w.differential(sd))
            desc = (f"erx profile, KBV forms {for_version} (used by e-prescription {version}): {sd['name']}. Written "
                    f"from the facts of {for_pkg.replace('-', ' ')} (snapshot); self-contained on R4 core.")
            write(sd_resource(sd, for_version, diff, desc), f"StructureDefinition-{sd['name']}-{for_version}.json")
            written.append(sd["name"] + "|" + for_version)
        all_extensions |= w.extensions
        left_out |= w.bindings
    if EVDGA_PKG:
        version, pkg, for_version = EVDGA_SET
        w = Writer(version, for_version)
        evdga = load_dir(EVDGA_PKG)
        for name in EVDGA:
            sd = evdga[KBV_SD + "KBV_PR_EVDGA_" + name]
            diff = w.prune(w.differential(sd))
            desc = (f"erx profile, KBV DiGA prescription {version}: {sd['name']}. Written from the facts of "
                    f"{pkg.replace('-', ' ')} (snapshot); self-contained on R4 core.")
            write(sd_resource(sd, version, diff, desc), f"StructureDefinition-{sd['name']}-{version}.json")
            written.append(sd["name"] + "|" + version)
        all_extensions |= w.extensions
        left_out |= w.bindings
    left_out |= write_extensions(all_extensions | set(sys_extra_extensions()), lambda: Writer("1.4", "1.3"), written)
    write_value_sets(written)
    for line in sorted(written):
        print("wrote", line)
    for vs, where in sorted(left_out):
        print("binding left out:", vs, where)


def write_extensions(urls, make_writer, written, version_of=lambda sd: sd.get("version", "0")):
    """Writes our definition of each extension in `urls` and, transitively, of the extensions they
    name (complex extensions may name further ones), from the first of EXT_PACKAGES that has it.
    Returns the bindings left out."""
    left_out = set()
    done = set()
    pending = set(urls)
    packages = [(p, load_dir(p)) for p in EXT_PACKAGES]
    while pending:
        url = pending.pop()
        if url in done or url in EXT_EXISTING:
            continue
        done.add(url)
        found = next(((p, d[url]) for p, d in packages if url in d), None)
        if found is None:
            print("extension not found:", url, file=sys.stderr)
            continue
        pkg, sd = found
        w = make_writer()
        diff = w.prune(w.differential(sd, in_extension_def=True))
        pending |= w.extensions
        left_out |= w.bindings
        version = version_of(sd)
        desc = f"erx extension definition: {sd['name']}. Written from the facts of {pkg.replace('-', ' ')}."
        write(sd_resource(sd, version, diff, desc), f"StructureDefinition-{url.rsplit('/', 1)[1]}-{version}.json")
        written.append(url + "|" + version)
    return left_out


def write_value_sets(written):
    """The value sets of SHIP_VS: the codes of each include, listed."""
    terminology = {}
    for p in reversed(VS_PACKAGES):
        terminology.update(load_dir(p))
    for url, what in SHIP_VS.items():
        vs = terminology[url]
        includes = []
        for inc in vs["compose"]["include"]:
            codes = [c["code"] for c in inc.get("concept", [])]
            if not codes:
                cs = terminology[inc["system"]]
                def collect(concepts):
                    for c in concepts:
                        codes.append(c["code"])
                        collect(c.get("concept", []))
                collect(cs.get("concept", []))
            includes.append({"system": inc["system"], "concept": [{"code": c} for c in codes]})
        last = url.rsplit("/", 1)[1]
        out = {"resourceType": "ValueSet", "id": re.sub(r"[^A-Za-z0-9.\-]", "-", last + "-" + vs["version"])[:64],
               "url": url, "version": vs["version"], "name": vs.get("name", last), "status": "active",
               "description": f"erx value set: the codes allowed for the {what} (codes only; written from the facts of the official package).",
               "compose": {"include": includes}}
        write(out, f"ValueSet-{last}-{vs['version']}.json")
        written.append(url + "|" + vs["version"])


def sys_extra_extensions():
    """Extensions the official examples use on datatypes our profiles do not expand."""
    return [
        "http://hl7.org/fhir/StructureDefinition/humanname-own-name",
        "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix",
        "http://fhir.de/StructureDefinition/humanname-namenszusatz",
        "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier",
        "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetName",
        "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-houseNumber",
        "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-additionalLocator",
        "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-postBox",
        "http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationRequest.renderedDosageInstruction",
    ]


if __name__ == "__main__":
    main()

import FHIRModel
import FHIRPath

extension ProfileValidator {
    // MARK: Invariants

    /// Evaluates the node's invariants on `element`. An invariant that cannot be parsed or evaluated is
    /// reported once as a warning, never passed silently.
    ///
    /// `checked`: the node whose invariants were already evaluated on this element (an element's own
    /// node, before the root of its type's profile): an invariant with the same key is not evaluated twice.
    func checkInvariants(of node: ProfileNode, on element: Element, type: FHIRPathItem.NodeType, path: ElementPath, scope: Scope,
                         skipping checked: ProfileNode? = nil, run: inout Run) {
        // ext-1 natively, on the first call for the element (the answer is the same on the second).
        if checked == nil, element.name == "extension" || element.name == "modifierExtension" {
            let hasValue = element.children.contains { $0.name.hasPrefix("value") }
            if hasValue == element.children.contains(where: { $0.name == "extension" }) {
                run.add(.error, .invariant, "ext-1: an extension has either a value or extensions, not both", at: path)
            }
        }
        for compiled in node.invariants {
            if let checked, checked.invariants.contains(where: { $0.invariant.key == compiled.invariant.key }) { continue }
            let holds: Bool?
            switch compiled.evaluation {
            case .native(let check, let expression):
                // The shapes a native check leaves to the engine are rare: the program is made here.
                holds = check(element, scope.container)
                    ?? evaluate(compiled, FHIRPathProgram(expression), on: element, type: type, path: path, scope: scope, run: &run)
            case .fhirPath(let program) where !program.dependsOnElement:
                // The same answer on every element of the resource: evaluated once per resource (the
                // dosage invariants, declared on each dosage instruction, read all of them).
                let key = Run.InvariantKey(invariant: ObjectIdentifier(compiled), scope: scope.serial)
                if let known = run.resourceInvariants[key] {
                    holds = known
                } else {
                    holds = evaluate(compiled, program, on: element, type: type, path: path, scope: scope, run: &run)
                    run.resourceInvariants[key] = holds
                }
            case .fhirPath(let program):
                holds = evaluate(compiled, program, on: element, type: type, path: path, scope: scope, run: &run)
            case .unusable(let error):
                reportUnevaluable(compiled, error, at: path, run: &run)
                holds = nil
            }
            if holds == false {
                let invariant = compiled.invariant
                run.add(invariant.isError ? .error : .warning, .invariant, "\(invariant.key): \(invariant.human)", at: path)
            }
        }
    }

    /// Evaluates an invariant's FHIRPath: whether it holds, or `nil` (reported as a warning) when the
    /// engine cannot evaluate it. An empty result fails, as in the HL7 validator (`evaluateToBoolean` of
    /// nothing is false).
    private func evaluate(_ invariant: CompiledInvariant, _ program: FHIRPathProgram, on element: Element,
                          type: FHIRPathItem.NodeType, path: ElementPath, scope: Scope, run: inout Run) -> Bool? {
        do throws(FHIRPathError) {
            let items = try evaluator.evaluate(program, on: .node(element, type), resource: scope.resourceItem,
                                               rootResource: scope.containerItem, document: run.document)
            return try FHIRPathEvaluator.boolean(items) ?? false
        } catch {
            reportUnevaluable(invariant, error, at: path, run: &run)
            return nil
        }
    }

    private func reportUnevaluable(_ compiled: CompiledInvariant, _ error: FHIRPathError, at path: ElementPath, run: inout Run) {
        let key = compiled.invariant.key
        run.addOnce("invariant \(key)", .notSupported, "\(key): the invariant could not be evaluated (\(error.message)), so it was not checked",
                    at: path)
    }

    // MARK: Bundles

    /// R4 Bundle.entry.fullUrl: a fullUrl that looks like a RESTful server URL (`…/<Type>/<id>`; never
    /// versioned, bdl-8) SHALL end with its resource's type and id. A `urn:uuid:` may
    /// name any id (R4 allows it; the HL7 validator is stricter there, which gematik's own receipt
    /// examples, a Device `1` under a `urn:uuid:`, do not meet either).
    func checkFullURLs(of bundle: Element, path: ElementPath, run: inout Run) {
        for (index, entry) in bundle.children(named: "entry").enumerated() {
            guard let fullURL = entry.value(of: "fullUrl"), fullURL.hasPrefix("http://") || fullURL.hasPrefix("https://"),
                let resource = entry.child("resource")?.wrappedResource
            else { continue }
            let segments = fullURL.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard segments.count >= 5, definitions.resourceIndex(segments[segments.count - 2]) != nil else { continue }
            let (type, id) = (segments[segments.count - 2], segments[segments.count - 1])
            guard type != resource.name || id != resource.value(of: "id") else { continue }
            run.add(.error, .invalid, "Bundle.entry.fullUrl \(fullURL) does not end with the entry's \(resource.name)/\(resource.value(of: "id") ?? "(no id)")",
                    at: path.child("entry", position: index))
        }
    }

    // MARK: Displays

    /// A Coding's `display` must be one its CodeSystem gives the code (the concept's display or a
    /// designation), compared ignoring case and runs of white space, wherever we hold that CodeSystem.
    /// An error, as in the HL7 validator's default (its "Wrong Display Name"): a client shows the
    /// display, and one from another version of the code system says something else.
    func checkDisplay(of coding: Element, path: ElementPath, scope: Scope, run: inout Run) {
        guard let display = coding.value(of: "display"), let system = coding.value(of: "system"), let code = coding.value(of: "code"),
            let allowed = terminology.displays(system: system, version: coding.value(of: "version"), code: code, context: scope.context(run))
        else { return }
        let wanted = Self.normalizedDisplay(display)
        guard !allowed.contains(where: { Self.normalizedDisplay($0) == wanted }) else { return }
        run.add(.error, .codeInvalid, "Wrong display '\(display)' for \(system)#\(code): should be '\(allowed[0])'",
                at: path.child("display"))
    }

    static func normalizedDisplay(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
    }

    // MARK: Bindings

    /// Checks a coded value against a required binding (an error) or an extensible one (a warning), where
    /// the value set can be expanded from what is loaded.
    func checkBinding(_ binding: ElementConstraint.Binding, on element: Element, type: String, path: ElementPath, label: String,
                      run: inout Run) {
        guard binding.isChecked, let valueSet = binding.valueSet else { return }
        let codings: [(system: String?, code: String)]
        switch type {
        case "code", "string", "uri":
            guard let value = element.value else { return }
            codings = [(nil, value)]
        case "Coding", "Quantity":
            guard let code = element.value(of: "code") else { return }
            codings = [(element.value(of: "system"), code)]
        case "CodeableConcept":
            codings = element.children(named: "coding").compactMap { coding in
                coding.value(of: "code").map { (coding.value(of: "system"), $0) }
            }
            guard !codings.isEmpty else { return }
        default:
            return
        }
        guard let expansion = terminology.expansion(valueSet) else {
            // An extensible binding could only ever warn; a required one that cannot be checked must say so.
            if binding.strength == .required {
                run.addOnce("valueset \(valueSet)", .notFound,
                            "ValueSet \(valueSet) could not be resolved, so codes bound to it were not checked", at: path)
            }
            return
        }
        guard !codings.contains(where: { expansion.contains(system: $0.system, code: $0.code) }) else { return }
        // Outside for certain: the expansion is complete, or it lists every coding's system in full.
        let knownOutside = expansion.isComplete || codings.allSatisfy { coding in coding.system.map { expansion.systems[$0] != nil } ?? false }
        if binding.strength == .required && knownOutside {
            run.add(.error, .codeInvalid, "\(label): the code is not in the required value set \(valueSet)", at: path)
        } else if binding.strength == .required {
            run.addOnce("valueset \(valueSet)", .notSupported,
                        "ValueSet \(valueSet) could not be expanded completely, so codes outside its known part were not checked",
                        at: path)
        } else if expansion.isComplete {
            run.add(.warning, .codeInvalid, "\(label): the code is not in the extensible value set \(valueSet)", at: path)
        }
    }

    // MARK: Extensions

    /// An extension that no slice describes: checked against its own definition, found by its URL. An
    /// extension whose definition is unknown is an error: nobody can say what it means.
    func validateExtension(_ child: Located, scope: Scope, run: inout Run) {
        guard let url = child.element.value(of: "url") else {
            run.add(.error, .required, "Extension.url: minimum required = 1, but only found 0", at: child.path.child("url"))
            return
        }
        guard case .complex(let typeIndex) = child.type else { return }
        do {
            guard let profile = try profiles.profile(url, in: scope.context(run)) else {
                run.add(.error, .extension, "Unknown extension \(url): no definition is loaded for it", at: child.path)
                return
            }
            guard profile.type == "Extension" else {
                run.add(.error, .extension, "\(url) defines a \(profile.type), not an extension", at: child.path)
                return
            }
            validate(child.element, node: profile.root, type: .type(typeIndex), path: child.path,
                     scope: scope.with(profile), run: &run)
        } catch {
            run.addOnce("profile \(url)", .notSupported, "Extension \(url) cannot be used: \(error.description)", at: child.path)
        }
    }

    // MARK: References

    /// A reference that resolves inside the resource (contained, Bundle entry, Parameters part) must point
    /// to a resource of a type its `targetProfile`s admit.
    func checkReferenceTarget(_ child: Located, node: ProfileNode, run: inout Run) {
        let targets = node.referenceTargets
        guard !targets.isEmpty, child.element.name != "extension", let reference = child.element.value(of: "reference"),
            let target = run.rootResource.resolveReference(reference)
        else { return }
        let allowed = targets.map { canonical -> String in
            (try? profiles.profile(canonical))?.map(\.type)
                ?? String(canonical.split(separator: "|").first?.split(separator: "/").last ?? "")
        }
        guard !allowed.contains(target.name), !allowed.contains("Resource") else { return }
        run.add(.error, .structure,
                "\(node.constraint.id): the reference points to a \(target.name), but must point to \(allowed.joined(separator: " or "))",
                at: child.path)
    }
}

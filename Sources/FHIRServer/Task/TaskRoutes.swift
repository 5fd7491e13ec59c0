/// The Task routes (dispense-spec.md §4.2, fd-parity.md §2–§4), one file per operation, each
/// with the professions that may call it.
enum TaskRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [create(env), activate(env), accept(env), dispense(env), close(env), reject(env), abort(env), read(env), search(env)]
    }
}

public import FHIRModel
public import Dispensing

/// Everything the HTTP layer itself refuses, before or besides the domain rules.
public enum RequestError: Error, Sendable, Hashable {
    /// No bearer token, or one that does not verify (signature, expiry, claims).
    case unauthenticated(AuthenticationFailure)
    /// A verified token without a claim the route needs (an insurant's `idNummer`).
    case tokenClaimMissing(String)
    /// The token's `sub` made more calls in one window than the limit admits, and is blocked until
    /// the token expires (A_19992: 429).
    case tokenRateLimited
    /// The token's profession (its `professionOID` claim, as sent) may not call this route.
    case professionNotAllowed(oid: String)
    case negotiation(ContentNegotiation.Failure)
    /// A body over ``RequestLimits/maximumBodyBytes``.
    case bodyTooLarge
    /// The body holds more elements, or more repeats of one, than ``RequestLimits`` admits.
    case bodyTooCostly(ElementBudget.Exceeded)
    /// The operation needs a body and there is none.
    case bodyMissing(expectedResource: String)
    /// The body is not FHIR in the declared format (the reader's issue, with its location).
    case unreadableBody(OperationOutcome.Issue)
    /// The body is FHIR but another resource than the operation takes.
    case wrongResource(expected: String, found: String)
    /// A workflow 1.2/1.3 body (a lone MedicationDispense or a Bundle) on `$dispense`/`$close`.
    case legacyDispensationForm(found: String)
    /// The body does not claim exactly one versioned profile of those the operation admits.
    case profileNotAllowed(expression: String, admitted: String)
    /// Profile validation failed: the validator's issues (errors and warnings).
    case validationFailed([OperationOutcome.Issue])
    /// A query parameter with a value we cannot use.
    case invalidSearchParameter(name: String)
    /// A search parameter the production service refuses with a text of its own (`_count`,
    /// `status`, `identifier`, …).
    case searchParameterRefused(name: String, text: String)
    /// `GET /AuditEvent/{id}` with an id that is no UUID.
    case auditEventIDMalformed
    /// `GET /AuditEvent/{id}` for an event that is not the caller's or does not exist.
    case auditEventNotFound
    /// A method and path of the FD's namespace that no route answers (A_19030 and siblings: 405).
    case noMatchingHandler
    /// An unknown path of erx's operational namespace (`/health/…`, `/metrics` when off): ours, 404,
    /// as the production service's outer server answers what it does not know.
    case routeNotFound
    /// `DELETE /Consent` without `?category` (A_22154: 405, not 400).
    case consentCategoryMissing
    /// A resource that is readable FHIR but not what the route takes (what is wrong, and where).
    case invalidResource(reason: String, expression: String)
    /// A `Consent` naming another insured person than the caller.
    case consentOfAnotherInsurant(expression: String)
    /// `POST /Consent` for an objection the insurant has already made.
    case objectionExists
    /// `DELETE /Consent` for an objection the insurant has not made.
    case objectionNotFound
    /// `GET`/`DELETE /Subscription/{id}` of no webhook subscription of the caller's.
    case subscriptionNotFound
    /// `POST /Subscription` whose body is no valid R4 `Subscription` (the validator's issues).
    case subscriptionInvalid([OperationOutcome.Issue])
    /// A Subscription whose `criteria` is not `Communication?…recipient=<Telematik-ID>`.
    case subscriptionRecipientMissing
    /// A request inside the VAU tunnel refused before any route sees it (fd-messaging-transport §4.4).
    case tunnelled(TunnelledRequestRefusal)
    /// A Subscription whose `status` is not `requested`.
    case subscriptionStatusNotSupported
    /// `POST /Subscription` with a token without an institution's Telematik-ID.
    case subscriptionTelematikIDMissing
    /// A Subscription for another recipient than the token's Telematik-ID (A_22363).
    case subscriptionRecipientMismatch
    /// A Subscription of a `channel.type` this server does not run.
    case subscriptionChannelNotSupported(String)
}

/// Why a request is not authenticated, in the production service's terms (its 401 texts). The first
/// three are found without the key, before the route is looked up; the others by verifying.
public enum AuthenticationFailure: Sendable, Hashable {
    /// No `Authorization` header.
    case missingHeader
    /// An `Authorization` header that is not `Bearer <token>`.
    case notBearer
    /// A token that is not a compact JWS (three base64url parts), or whose claims cannot be read.
    case malformedToken
    /// Signature, algorithm or key do not verify.
    case invalidSignature
    /// Expired, or issued or valid only in the future, or living longer than the policy admits.
    case expired
    /// An `aud` other than the configured audience (A_20370).
    case invalidAudience
}

/// Why the inner request of a VAU call is refused inside the tunnel (400 each; IBM
/// `VauRequestHandler::handleInnerRequest`): the answer is encrypted, because `p` was readable.
public enum TunnelledRequestRefusal: Sendable, Hashable {
    /// The inner bytes are not one complete HTTP/1.1 request.
    case malformed
    /// A_28427: the inner body starts with a UTF-8 byte order mark.
    case byteOrderMark
    case authorizationMissing
    case authorizationNotBearer
    /// The inner `Authorization` token is not the token in `p`.
    case authorizationMismatch
}

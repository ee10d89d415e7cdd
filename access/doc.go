// Package access decides whether an outside body may read a person's data
// from the register, and what it may read.
//
// The law lets other bodies have register data only in cases a law provides
// for, or with the person's written consent, and a request must cite the norm
// of law that entitles the requester to it (001 §5.1–5.2, §3.9; 002 §6.16).
// Data subjects see their own data and dwelling owners learn who is registered
// in their dwelling (002 §6.1–6.2). The register may refuse when the request
// is not in the prescribed form, lacks the data needed, comes from a requester
// without authority for that information, or has no basis (001 §5.6). This
// package turns those rules into data and one pure function:
//
//   - the legal-basis catalogue (catalogue.yaml, embedded; LoadFile reads
//     another): each basis names the law and article it rests on, its dates
//     of validity, who may cite it, by which parameters they may search,
//     which fields they may receive, which systems may be reached, whether
//     the person's consent is needed, and the purposes it serves;
//   - the query (ParseQuery), the body an authority sends: who asks and in
//     which case, the basis and citation, the purpose, exactly one set of
//     search parameters and the fields wanted;
//   - Decide, which grants a query or refuses it with exactly one Reason,
//     and Minimise, which cuts an answer down to the granted fields.
//
// Refusals are checked in a fixed order, so that a query with several faults
// always gets the same reason, and the one most useful to the requester:
// first what is wrong with the request itself, then whether a basis exists,
// then whether it is this requester's, then what it covers (see Reasons).
//
// It is core code: it does no I/O besides reading a catalogue file, imports
// no adapter, and reuses the identifier checks of package action. Recording
// every query (002 §5.3; every KPS query is logged, 000) is the caller's job:
// a Decision carries what that record needs (catalogue version, basis code,
// reason).
package access

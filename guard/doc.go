// Package guard holds the guards the register must raise on a registration
// action (001 §2.5.16–2.5.18):
//
//   - §2.5.17: an action at an address under a court injunction (ухвала суду
//     про забезпечення позову) is blocked. Operators record injunctions
//     (package ops); an action concerns the address it registers (a place of
//     residence or of stay) or leaves, and a new residence also the one it
//     vacates. Roles says which each kind does.
//   - §2.5.16: the official is told when the person registers a new residence
//     later than the law allows after deregistering the previous one
//     (warning registration_deadline_missed).
//   - §2.5.18: the official is told when a child stays registered at an
//     address being vacated (warning minor_remains_at_vacated_address).
//
// The rules are pure functions of the submission, the person's registration
// and the people registered at an address; Checker gathers those through its
// Store port and implements action.Guard.
//
// Where the injunction check runs. Checker only names the addresses an
// action concerns. The store refuses the action in the very statement that
// would insert it (a conditional insert in the accept transaction, also when
// concurrent accepts share one transaction), so a blocked action fails alone
// and never aborts the others of its group. Recording an injunction reads no
// action, so every interleaving of the two is equivalent to one order in
// which they did not overlap: an accept that starts after an injunction was
// recorded is refused; one that overlapped it may go either way, as if it
// had come first. No lock is needed.
//
// Warnings read the read model: each person's registration as completed
// actions left it (an action is complete only once the national systems
// confirmed it, 002 §2.1.6). It lags the register by the actions still
// pending: a deregistration not yet confirmed gives no deadline to miss, and
// a child whose own move is still pending is still counted at the address.
// Warnings inform the official and never block, so the lag is accepted
// rather than read from pending actions, which may yet be rejected.
package guard

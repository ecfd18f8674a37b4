package brevo

import "strings"

// Consent precedence policy
//
// Shopify and Brevo both hold a contact's marketing consent, and Brevo's may
// be newer (an unsubscribe link clicked in a Brevo campaign blocklists the
// contact in Brevo only). The policy, for email (emailBlacklisted) and SMS
// (smsBlacklisted) alike:
//
//  1. A withdrawal always wins: Shopify "unsubscribed" sets the blocklist
//     flag, whatever Brevo says.
//  2. A Shopify "subscribed" never lifts a Brevo blocklisting on its own.
//     Only an explicit resubscribe (the shopper opted in again after the
//     blocklisting, as the caller decides) sends the flag false. Without it
//     the flag is not sent at all, which leaves Brevo's state untouched.
//  3. States that are not a consent decision (not subscribed, pending double
//     opt-in, redacted, invalid, not collected, unknown) send nothing.
//  4. Brevo removes the blocklisting of a contact whose EMAIL changes, so an
//     email change is withheld when the contact is blocklisted and stays so,
//     and when Brevo's state is unknown (NeedsLookup asks the caller to fetch
//     the contact and decide again). The SMS number is treated the same way,
//     as the conservative reading of the same risk.
//  5. Brevo's state as tajo remembers it (from its own writes and the read
//     at start, see known.go) answers whether the contact exists and with
//     which email and phone, but not whether Brevo blocklisted it since (an
//     unsubscribe link in a Brevo campaign). So an email or phone change of
//     a contact known only from memory asks for Brevo's current state
//     (NeedsLookup) before rule 4 decides: the one case that needs it. A
//     contact known to be absent is new, and needs nothing.

// ConsentState is a Shopify marketing consent state, normalized.
type ConsentState int

// Consent states. Shopify's NOT_SUBSCRIBED, PENDING, REDACTED and INVALID
// map to the states of the same meaning; anything else is ConsentUnknown.
const (
	ConsentUnknown ConsentState = iota // not collected, or not in this event
	ConsentSubscribed
	ConsentUnsubscribed
	ConsentNotSubscribed // never opted in: no decision either way
	ConsentPending       // double opt-in not confirmed yet
	ConsentRedacted
	ConsentInvalid
)

// ParseConsentState reads Shopify's marketing state (REST or GraphQL
// spelling, any case).
func ParseConsentState(s string) ConsentState {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "SUBSCRIBED":
		return ConsentSubscribed
	case "UNSUBSCRIBED":
		return ConsentUnsubscribed
	case "NOT_SUBSCRIBED":
		return ConsentNotSubscribed
	case "PENDING":
		return ConsentPending
	case "REDACTED":
		return ConsentRedacted
	case "INVALID":
		return ConsentInvalid
	}
	return ConsentUnknown
}

// BrevoContactState is what Brevo holds for the contact, when known.
type BrevoContactState struct {
	Email            string
	Phone            string // the SMS attribute
	EmailBlacklisted bool
	SMSBlacklisted   bool
}

// ConsentInput is everything the policy looks at.
type ConsentInput struct {
	Email ConsentState
	SMS   ConsentState
	// Resubscribe: the shopper explicitly opted in again after Brevo
	// blocklisted them, so lifting the blocklisting is intended.
	Resubscribe bool
	// Existing is Brevo's current state; nil when unknown (not fetched, or
	// the contact does not exist yet — set NewContact then).
	Existing *BrevoContactState
	// NewContact: the contact is known not to exist in Brevo.
	NewContact bool
	// Remembered: Existing is what tajo remembers (rule 5), not Brevo's
	// answer now.
	Remembered bool
	// NewEmail and NewPhone are the identifiers Shopify has now; empty means
	// no change is asked for.
	NewEmail string
	NewPhone string
}

// ConsentDecision says what to send. A nil flag means "do not send the
// field", which leaves Brevo's value as it is.
type ConsentDecision struct {
	EmailBlacklisted *bool
	SMSBlacklisted   *bool
	// ChangeEmail / ChangePhone: it is safe to write the new identifier.
	ChangeEmail bool
	ChangePhone bool
	// BlocklistAfterChange: send the email change first and the
	// blocklist flag in a later update, so Brevo's "email change lifts the
	// blocklisting" cannot undo the unsubscribe, whatever order it applies
	// the fields of one request in.
	BlocklistAfterChange bool
	// NeedsLookup: a change was withheld only because Brevo's current
	// state is unknown; fetch the contact, fill Existing (Remembered
	// false) and decide again.
	NeedsLookup bool
	// Reasons explain each non-obvious choice, for the sync history.
	Reasons []string
}

// DecideConsent applies the consent precedence policy. It is a pure function.
func DecideConsent(in ConsentInput) ConsentDecision {
	var d ConsentDecision
	known := in.Existing != nil || in.NewContact
	var ex BrevoContactState
	if in.Existing != nil {
		ex = *in.Existing
	}

	d.EmailBlacklisted = decideFlag(in.Email, in.Resubscribe, ex.EmailBlacklisted, "email", &d)
	d.SMSBlacklisted = decideFlag(in.SMS, in.Resubscribe, ex.SMSBlacklisted, "sms", &d)
	// Only a blocklisting Brevo already holds can be lifted by a change.
	emailBlocked := ex.EmailBlacklisted && !isFalse(d.EmailBlacklisted)
	smsBlocked := ex.SMSBlacklisted && !isFalse(d.SMSBlacklisted)

	if in.NewEmail != "" && !strings.EqualFold(in.NewEmail, ex.Email) {
		switch {
		case in.NewContact:
			d.ChangeEmail = true
		case !known:
			d.NeedsLookup = true
			d.Reasons = append(d.Reasons, "email change withheld: Brevo's blocklist state is unknown and an email change lifts it")
		case in.Remembered:
			d.NeedsLookup = true
			d.Reasons = append(d.Reasons, "email change: Brevo's current blocklist state is asked first, since an email change lifts it")
		case emailBlocked:
			d.Reasons = append(d.Reasons, "email change withheld: the contact is email-blocklisted and Brevo would lift the blocklisting")
		default:
			d.ChangeEmail = true
		}
	}
	if d.ChangeEmail && !in.NewContact && isTrue(d.EmailBlacklisted) {
		d.BlocklistAfterChange = true
		d.Reasons = append(d.Reasons, "email change and unsubscribe: blocklist in a second update, after the email change")
	}
	if in.NewPhone != "" && in.NewPhone != ex.Phone {
		switch {
		case in.NewContact:
			d.ChangePhone = true
		case !known:
			d.NeedsLookup = true
			d.Reasons = append(d.Reasons, "phone change withheld: Brevo's SMS blocklist state is unknown")
		case in.Remembered:
			d.NeedsLookup = true
			d.Reasons = append(d.Reasons, "phone change: Brevo's current SMS blocklist state is asked first")
		case smsBlocked:
			d.Reasons = append(d.Reasons, "phone change withheld: the contact is SMS-blocklisted")
		default:
			d.ChangePhone = true
		}
	}
	return d
}

// decideFlag returns the blocklist flag to send for one channel.
func decideFlag(s ConsentState, resubscribe, blocked bool, channel string, d *ConsentDecision) *bool {
	switch s {
	case ConsentUnsubscribed:
		return Bool(true)
	case ConsentSubscribed:
		if resubscribe {
			if blocked {
				d.Reasons = append(d.Reasons, channel+" blocklisting lifted: explicit resubscribe")
			}
			return Bool(false)
		}
		if blocked {
			d.Reasons = append(d.Reasons, channel+" stays blocklisted: Brevo's blocklisting wins over a Shopify subscribe without resubscribe")
		}
	}
	return nil
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

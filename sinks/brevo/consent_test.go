package brevo_test

import (
	"context"
	"testing"

	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

func flag(b *bool) string {
	if b == nil {
		return "unset"
	}
	if *b {
		return "true"
	}
	return "false"
}

func TestDecideConsent(t *testing.T) {
	blocked := &brevo.BrevoContactState{Email: "a@example.com", Phone: "+33600000001", EmailBlacklisted: true, SMSBlacklisted: true}
	clean := &brevo.BrevoContactState{Email: "a@example.com", Phone: "+33600000001"}
	for _, tc := range []struct {
		name                   string
		in                     brevo.ConsentInput
		email, sms             string
		changeEmail, changeSMS bool
		lookup, splitBlock     bool
	}{
		{name: "subscribe, clean contact", in: brevo.ConsentInput{Email: brevo.ConsentSubscribed, SMS: brevo.ConsentSubscribed, Existing: clean},
			email: "unset", sms: "unset"},
		{name: "subscribe, new contact", in: brevo.ConsentInput{Email: brevo.ConsentSubscribed, NewContact: true, NewEmail: "a@example.com"},
			email: "unset", sms: "unset", changeEmail: true},
		{name: "unsubscribe always wins", in: brevo.ConsentInput{Email: brevo.ConsentUnsubscribed, SMS: brevo.ConsentUnsubscribed, Existing: clean},
			email: "true", sms: "true"},
		{name: "unsubscribe with unknown Brevo state", in: brevo.ConsentInput{Email: brevo.ConsentUnsubscribed},
			email: "true", sms: "unset"},
		{name: "blocklisted then subscribed: stays blocked", in: brevo.ConsentInput{Email: brevo.ConsentSubscribed, SMS: brevo.ConsentSubscribed, Existing: blocked},
			email: "unset", sms: "unset"},
		{name: "blocklisted then resubscribed", in: brevo.ConsentInput{Email: brevo.ConsentSubscribed, SMS: brevo.ConsentSubscribed, Resubscribe: true, Existing: blocked},
			email: "false", sms: "false"},
		{name: "subscribed, unknown state, no resubscribe: untouched", in: brevo.ConsentInput{Email: brevo.ConsentSubscribed},
			email: "unset", sms: "unset"},
		{name: "email change on clean contact", in: brevo.ConsentInput{Existing: clean, NewEmail: "b@example.com"},
			email: "unset", sms: "unset", changeEmail: true},
		{name: "email change is case-insensitive no-op", in: brevo.ConsentInput{Existing: clean, NewEmail: "A@Example.com"},
			email: "unset", sms: "unset"},
		{name: "email change on blocklisted contact withheld", in: brevo.ConsentInput{Email: brevo.ConsentSubscribed, Existing: blocked, NewEmail: "b@example.com"},
			email: "unset", sms: "unset"},
		{name: "email change with unknown state needs lookup", in: brevo.ConsentInput{NewEmail: "b@example.com"},
			email: "unset", sms: "unset", lookup: true},
		{name: "email change on blocklisted contact with resubscribe", in: brevo.ConsentInput{Email: brevo.ConsentSubscribed, Resubscribe: true, Existing: blocked, NewEmail: "b@example.com"},
			email: "false", sms: "unset", changeEmail: true},
		{name: "email change and unsubscribe: blocklist after", in: brevo.ConsentInput{Email: brevo.ConsentUnsubscribed, Existing: clean, NewEmail: "b@example.com"},
			email: "true", sms: "unset", changeEmail: true, splitBlock: true},
		{name: "phone change on SMS-blocklisted contact withheld", in: brevo.ConsentInput{Existing: blocked, NewPhone: "+33600000002"},
			email: "unset", sms: "unset"},
		{name: "phone change on clean contact", in: brevo.ConsentInput{Existing: clean, NewPhone: "+33600000002"},
			email: "unset", sms: "unset", changeSMS: true},
		{name: "not collected / pending / redacted / invalid send nothing", in: brevo.ConsentInput{Email: brevo.ConsentPending, SMS: brevo.ConsentNotSubscribed, Existing: clean},
			email: "unset", sms: "unset"},
		{name: "redacted", in: brevo.ConsentInput{Email: brevo.ConsentRedacted, SMS: brevo.ConsentInvalid, Existing: blocked},
			email: "unset", sms: "unset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := brevo.DecideConsent(tc.in)
			if flag(d.EmailBlacklisted) != tc.email || flag(d.SMSBlacklisted) != tc.sms ||
				d.ChangeEmail != tc.changeEmail || d.ChangePhone != tc.changeSMS ||
				d.NeedsLookup != tc.lookup || d.BlocklistAfterChange != tc.splitBlock {
				t.Fatalf("decision = email:%s sms:%s changeEmail:%v changePhone:%v lookup:%v split:%v reasons:%v",
					flag(d.EmailBlacklisted), flag(d.SMSBlacklisted), d.ChangeEmail, d.ChangePhone, d.NeedsLookup, d.BlocklistAfterChange, d.Reasons)
			}
		})
	}
}

func TestParseConsentState(t *testing.T) {
	for in, want := range map[string]brevo.ConsentState{
		"subscribed": brevo.ConsentSubscribed, "UNSUBSCRIBED": brevo.ConsentUnsubscribed, "not_subscribed": brevo.ConsentNotSubscribed,
		"PENDING": brevo.ConsentPending, "redacted": brevo.ConsentRedacted, "INVALID": brevo.ConsentInvalid, "": brevo.ConsentUnknown, "weird": brevo.ConsentUnknown,
	} {
		if got := brevo.ParseConsentState(in); got != want {
			t.Errorf("%q → %v, want %v", in, got, want)
		}
	}
}

// The simulator, like Brevo, lifts the blocklisting on an email change: the
// reason the policy withholds such changes.
func TestEmailChangeLiftsBlocklistInSimulator(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	srv.PutContact(brevotest.Contact{Email: "old@example.com", ExtID: "7", EmailBlacklisted: true})
	d := brevo.DecideConsent(brevo.ConsentInput{Email: brevo.ConsentSubscribed, NewEmail: "new@example.com",
		Existing: &brevo.BrevoContactState{Email: "old@example.com", EmailBlacklisted: true}})
	if d.ChangeEmail {
		t.Fatal("policy allows the change")
	}
	// What would happen without the policy:
	if err := c.UpdateContact(ctx, "7", brevo.ByExtID, brevo.ContactUpdate{Attributes: map[string]any{"EMAIL": "new@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if srv.Contact("new@example.com").EmailBlacklisted {
		t.Fatal("simulator kept the blocklisting; it should mirror Brevo")
	}
}

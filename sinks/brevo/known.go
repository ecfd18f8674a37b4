package brevo

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tajo/tajo/pipeline/state"
)

// knownContacts is what Brevo holds per contact (email, SMS, blocklists),
// as tajo learned it: from its own writes, and from the read of Brevo's
// contacts at start (bulkread.go). It answers the question that would
// otherwise cost a GET /contacts/{identifier} per contact: does Brevo hold
// this contact, and with which email and phone?
//
// With the engine's state journal it is durable, in a bucket of its own
// keyed by ext_id ("x\x00<ext_id>") and by email ("e\x00<email, lower
// case>"); memory is bounded by the journal's own caches, and a restart
// reads it back, so it costs no lookups. The sink's writes happen after
// the engine committed the batch's journal, so the sink commits what it
// learned itself, once per Write, after the Brevo calls and before Write
// returns (one write(2)): a kill -9 after that loses nothing; a kill
// before it loses only what the unacknowledged records taught, and their
// redelivery (which comes first for their contacts: same partition, per
// contact order) teaches it again.
//
// Once a whole read finished (complete), a contact that is in neither key
// is known not to be in Brevo: a new customer needs no lookup. Without a
// read (sinks.brevo.known_contacts.read: false, a read over max_read, one
// that failed) a contact tajo does not know is looked up, as is every
// contact without a journal (tools, tests), where the knowledge is memory
// only and bounded.
type knownContacts struct {
	j      *state.Journal // nil: memory only
	bucket string

	mu  sync.Mutex
	mem map[string]BrevoContactState // without a journal

	complete atomic.Bool
	// learned: a Put or Delete since the last commit, so that a Write that
	// taught nothing does not commit the stages' pending keys. It is raised
	// after the change and lowered under cmu just before the commit, so a
	// commit that returns covers every change whose flag it saw, and a
	// Write whose flag another commit took waits for that commit.
	learned atomic.Bool
	cmu     sync.Mutex
}

// maxMemKnown bounds the memory-only knowledge; forgetting it costs
// lookups, never correctness, since memory-only knowledge is never
// complete.
const maxMemKnown = 200_000

// knowledge is what knownContacts can say about one contact.
type knowledge int

const (
	unknownContact knowledge = iota // tajo cannot say: ask Brevo
	absentContact                   // Brevo holds no such contact
	presentContact                  // Brevo holds it, as tajo remembers it
)

func newKnownContacts(j *state.Journal, name string) *knownContacts {
	if name == "" {
		name = "brevo"
	}
	return &knownContacts{j: j, bucket: "sink." + name + ".contacts", mem: map[string]BrevoContactState{}}
}

// durable reports whether the knowledge survives a restart (and so is
// worth completing with a read).
func (k *knownContacts) durable() bool { return k.j != nil }

// knownValue is the stored form of a BrevoContactState.
type knownValue struct {
	Email string `json:"e,omitempty"`
	Phone string `json:"p,omitempty"`
	EB    bool   `json:"eb,omitempty"`
	SB    bool   `json:"sb,omitempty"`
}

func extKey(extID string) string   { return "x\x00" + extID }
func emailKey(email string) string { return "e\x00" + strings.ToLower(strings.TrimSpace(email)) }

// of returns what tajo knows of the contact with this ext_id or, failing
// that, this email. A store that cannot be read makes it unknown: a
// lookup, never a guess.
func (k *knownContacts) of(extID, email string) (BrevoContactState, knowledge) {
	if extID == "" && email == "" {
		return BrevoContactState{}, unknownContact
	}
	for _, key := range []string{extKey(extID), emailKey(email)} {
		if key == "x\x00" || key == "e\x00" {
			continue
		}
		st, ok, err := k.get(key)
		if err != nil {
			return BrevoContactState{}, unknownContact
		}
		if ok {
			return st, presentContact
		}
	}
	if k.complete.Load() {
		return BrevoContactState{}, absentContact
	}
	return BrevoContactState{}, unknownContact
}

func (k *knownContacts) get(key string) (BrevoContactState, bool, error) {
	if k.j == nil {
		k.mu.Lock()
		st, ok := k.mem[key]
		k.mu.Unlock()
		return st, ok, nil
	}
	b, err := k.j.Get(k.bucket, key)
	if err != nil || b == nil {
		return BrevoContactState{}, false, err
	}
	var v knownValue
	if err := json.Unmarshal(b, &v); err != nil {
		return BrevoContactState{}, false, fmt.Errorf("brevo sink: known contact %q: %w", key, err)
	}
	return BrevoContactState{Email: v.Email, Phone: v.Phone, EmailBlacklisted: v.EB, SMSBlacklisted: v.SB}, true, nil
}

// put records st as what Brevo holds for the contact; oldEmail, when the
// contact had another address, is forgotten as a key.
func (k *knownContacts) put(extID string, st BrevoContactState, oldEmail string) {
	var keys []string
	if extID != "" {
		keys = append(keys, extKey(extID))
	}
	if st.Email != "" {
		keys = append(keys, emailKey(st.Email))
	}
	if len(keys) == 0 {
		return
	}
	gone := oldEmail != "" && !strings.EqualFold(oldEmail, st.Email)
	// The flag is raised after the change (see commit).
	defer k.learned.Store(true)
	if k.j == nil {
		k.mu.Lock()
		if len(k.mem) >= maxMemKnown {
			clear(k.mem)
		}
		for _, key := range keys {
			k.mem[key] = st
		}
		if gone {
			delete(k.mem, emailKey(oldEmail))
		}
		k.mu.Unlock()
		return
	}
	b, _ := json.Marshal(knownValue{Email: st.Email, Phone: st.Phone, EB: st.EmailBlacklisted, SB: st.SMSBlacklisted})
	for _, key := range keys {
		k.j.Put(k.bucket, key, b)
	}
	if gone {
		k.j.Delete(k.bucket, emailKey(oldEmail))
	}
}

// forget records that Brevo no longer holds the contact.
func (k *knownContacts) forget(extID, email string) {
	var keys []string
	if extID != "" {
		keys = append(keys, extKey(extID))
	}
	if email != "" {
		keys = append(keys, emailKey(email))
	}
	defer k.learned.Store(true)
	k.mu.Lock()
	for _, key := range keys {
		if k.j == nil {
			delete(k.mem, key)
		} else {
			k.j.Delete(k.bucket, key)
		}
	}
	k.mu.Unlock()
}

// commit makes what was learned since the last commit survive a crash
// (with it, whatever the stages journaled meanwhile: committing that early
// is what the engine's own commit before a crash does too). A failed
// commit keeps the changes pending for the next one.
func (k *knownContacts) commit() error {
	if k.j == nil {
		return nil
	}
	k.cmu.Lock()
	defer k.cmu.Unlock()
	if !k.learned.Swap(false) {
		return nil
	}
	if err := k.j.Commit(); err != nil {
		k.learned.Store(true)
		return fmt.Errorf("brevo sink: recording what Brevo holds per contact: %w", err)
	}
	return nil
}

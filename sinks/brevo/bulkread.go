package brevo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// The read of Brevo's contacts at start fills knownContacts before the
// first write: the first start reads every contact (GET /contacts, pages
// of MaxContactsPage, oldest first), later starts only those modified
// since the last read began (minus readOverlap, for a clock that differs
// from Brevo's). Its cursor is in the state store, committed with each
// page, so a start killed mid-read resumes at its page. Until a first
// read finished the knowledge is not complete: a contact tajo does not
// know is looked up.
//
// Paging by offset over a list that changes can skip a contact deleted
// meanwhile, or list one twice; a contact skipped is treated as new,
// which for a contact tajo did not write means an upsert by email that
// changes no email, so no blocklisting can be lifted.

// readOverlap is how far before the last read's start the next one
// begins.
const readOverlap = 5 * time.Minute

// readProgressEvery paces the read's progress log.
const readProgressEvery = 10 * time.Second

// readCursor is the read's state, in the sink's read bucket.
type readCursor struct {
	// Done: a whole read finished once and nothing since made the
	// knowledge incomplete.
	Done bool `json:"done,omitempty"`
	// Last is when the last finished read began.
	Last time.Time `json:"last,omitzero"`
	// The read in progress, if any.
	Reading bool      `json:"reading,omitempty"`
	Since   time.Time `json:"since,omitzero"` // its modifiedSince; zero: everything
	Began   time.Time `json:"began,omitzero"`
	Offset  int64     `json:"offset,omitempty"`
	Read    int64     `json:"read,omitempty"`
}

const cursorKey = "cursor"

func (k *knownContacts) readBucket() string { return k.bucket + "_read" }

func (k *knownContacts) loadCursor() (readCursor, error) {
	var c readCursor
	b, err := k.j.Get(k.readBucket(), cursorKey)
	if err != nil || b == nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return readCursor{}, nil // unreadable: start afresh, a full read
	}
	return c, nil
}

// saveCursor records c with what the pages read so far taught, in one
// commit.
func (k *knownContacts) saveCursor(c readCursor) error {
	b, _ := json.Marshal(c)
	k.j.Put(k.readBucket(), cursorKey, b)
	k.learned.Store(true)
	return k.commit()
}

// learnListed records what a page of GET /contacts says.
func (k *knownContacts) learnListed(d *ContactDetails) {
	sms, _ := d.Attributes["SMS"].(string)
	k.put(d.extIDOf(), BrevoContactState{Email: d.Email, Phone: sms, EmailBlacklisted: d.EmailBlacklisted, SMSBlacklisted: d.SMSBlacklisted}, "")
}

// saveCursor is knownContacts.saveCursor, a failure logged: the state
// store failing costs the knowledge's completeness (a lookup per unknown
// contact), never correctness.
func (s *Sink) saveCursor(c readCursor) bool {
	if err := s.known.saveCursor(c); err != nil {
		s.known.complete.Store(false)
		s.log.WithError(err).Warn("brevo sink: recording the read of Brevo's contacts; a contact tajo did not write is looked up once")
		return false
	}
	return true
}

// readContacts runs (or resumes) the start's read. A Fatal answer is
// returned; any other failure is logged and leaves the knowledge
// incomplete until a later start finishes the read.
func (s *Sink) readContacts(ctx context.Context) error {
	k := s.known
	if !k.durable() {
		return nil // memory only: nothing to complete across restarts
	}
	cur, err := k.loadCursor()
	if err != nil {
		s.log.WithError(err).Warn("brevo sink: the read of Brevo's contacts cannot be resumed; contacts tajo does not know are looked up")
		return nil
	}
	if !s.cfg.KnownContacts.Read {
		if cur.Done || cur.Reading {
			// A later start that reads again reads everything: what
			// changes meanwhile is not followed.
			s.saveCursor(readCursor{Last: cur.Last})
		}
		s.log.Info("brevo sink: Brevo's contacts are not read (sinks.brevo.known_contacts.read: false); a contact tajo did not write is looked up once")
		return nil
	}
	if !cur.Reading {
		cur = readCursor{Done: cur.Done, Last: cur.Last, Reading: true, Began: s.now().UTC()}
		if cur.Done {
			cur.Since = cur.Last.Add(-readOverlap)
		}
	}
	what, log := "every contact (first start)", s.log
	if !cur.Since.IsZero() {
		what = "the contacts modified since " + cur.Since.Format(time.RFC3339)
		log = log.WithField("since", cur.Since.Format(time.RFC3339))
	}
	k.complete.Store(cur.Done)
	start, lastLog := time.Now(), time.Now()
	for {
		page, err := s.client.ListContacts(ctx, ContactsQuery{Limit: MaxContactsPage, Offset: cur.Offset, ModifiedSince: cur.Since})
		if err != nil {
			if pipeline.ClassOf(err) == pipeline.Fatal || ctx.Err() != nil {
				return err
			}
			msg := "brevo sink: reading Brevo's contacts stopped; the next start resumes it"
			if !cur.Done {
				msg += ", and until then a contact tajo did not write is looked up once"
			}
			log.WithError(err).WithField("offset", cur.Offset).Warn(msg)
			return nil
		}
		if bound := s.cfg.KnownContacts.MaxRead; cur.Offset == 0 && bound > 0 && page.Count > bound {
			cur = readCursor{Last: cur.Last}
			k.complete.Store(false)
			log.WithField("count", page.Count).Warnf("brevo sink: Brevo lists %d contacts to read, more than sinks.brevo.known_contacts.max_read (%d): not read; a contact tajo did not write is looked up once", page.Count, bound)
			s.saveCursor(cur)
			return nil
		}
		if cur.Offset == 0 {
			log.WithField("count", page.Count).Infof("brevo sink: reading Brevo's contacts, %s: %d to read", what, page.Count)
		}
		for i := range page.Contacts {
			k.learnListed(&page.Contacts[i])
		}
		n := int64(len(page.Contacts))
		cur.Offset += n
		cur.Read += n
		done := n < MaxContactsPage || cur.Offset >= page.Count
		if done {
			cur = readCursor{Done: true, Last: cur.Began, Read: cur.Read}
		}
		if !s.saveCursor(cur) {
			return nil // the next start resumes from the last saved page
		}
		if done {
			k.complete.Store(true)
			log.WithField("contacts", cur.Read).Infof("brevo sink: read %d contacts from Brevo in %s", cur.Read, time.Since(start).Round(time.Millisecond))
			return nil
		}
		if time.Since(lastLog) >= readProgressEvery {
			lastLog = time.Now()
			log.WithField("offset", cur.Offset).Infof("brevo sink: reading Brevo's contacts: %d of %d", cur.Offset, page.Count)
		}
	}
}

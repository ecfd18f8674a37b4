package brevotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type importBody struct {
	JSONBody []struct {
		Email      string         `json:"email"`
		Attributes map[string]any `json:"attributes"`
	} `json:"jsonBody"`
	FileBody *string `json:"fileBody"`
	FileURL  *string `json:"fileUrl"`
	ListIDs  []int64 `json:"listIds"`
	NewList  *struct {
		ListName string `json:"listName"`
		FolderID int64  `json:"folderId"`
	} `json:"newList"`
	NotifyURL               string `json:"notifyUrl"`
	UpdateExistingContacts  *bool  `json:"updateExistingContacts"`
	EmptyContactsAttributes bool   `json:"emptyContactsAttributes"`
	EmailBlacklist          bool   `json:"emailBlacklist"`
	SMSBlacklist            bool   `json:"smsBlacklist"`
	DisableNotification     bool   `json:"disableNotification"`
}

type process struct {
	id      int64
	name    string
	polls   int
	done    bool
	due     time.Time // timed imports: when it completes
	host    string    // the API's host as the client addressed it, for report URLs
	req     *importBody
	reports map[string][]string
}

// Report kinds Brevo lists in a finished import's info.import.
var reportKinds = []string{"invalid_emails", "duplicate_contact_id", "duplicate_ext_id", "duplicate_email_id",
	"duplicate_phone_id", "duplicate_whatsapp_id", "duplicate_landline_number_id"}

func (s *Server) importContacts(w http.ResponseWriter, r *http.Request) {
	var b importBody
	if _, ok := s.decode(w, r, &b, s.opts.MaxImportBytes); !ok {
		return
	}
	switch {
	case b.FileBody != nil || b.FileURL != nil:
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "fileBody and fileUrl are not simulated; use jsonBody")
		return
	case len(b.JSONBody) == 0:
		s.reply(w, http.StatusBadRequest, "missing_parameter", "jsonBody, fileBody or fileUrl is required")
		return
	case len(b.ListIDs) == 0 && b.NewList == nil:
		s.reply(w, http.StatusBadRequest, "missing_parameter", "listIds or newList is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := s.listsExist(b.ListIDs); msg != "" {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	if b.NewList != nil {
		s.nextID++
		s.lists[s.nextID] = &list{name: b.NewList.ListName, members: map[int64]bool{}}
		b.ListIDs = append(b.ListIDs, s.nextID)
	}
	s.nextID++
	p := &process{id: s.nextID, name: "IMPORTUSER", req: &b, host: r.Host}
	s.processes[p.id] = p
	if d := s.importTime(len(b.JSONBody)); d > 0 {
		p.due = s.opts.Now().Add(d)
		s.timers[p.id] = time.AfterFunc(d, func() { s.completeImport(p.id) })
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"processId": p.id})
}

// importTime is how long an import of n contacts stays in_process; 0 when
// imports complete by polls instead.
func (s *Server) importTime(n int) time.Duration {
	return s.opts.ImportTime + time.Duration(n)*s.opts.ImportTimePerContact
}

// completeImport runs a timed import whose time is up, unless a poll (on a
// replaced clock) got there first, and calls its notifyUrl.
func (s *Server) completeImport(id int64) {
	s.mu.Lock()
	delete(s.timers, id)
	p := s.processes[id]
	notify := p != nil && s.finish(p)
	var body []byte
	if notify {
		body, _ = json.Marshal(s.processAnswer(p))
	}
	s.mu.Unlock()
	if notify {
		s.notify(p.id, p.req.NotifyURL, body)
	}
}

// finish applies a process's import once; true when this call did and the
// import asked to be notified. Caller holds s.mu.
func (s *Server) finish(p *process) bool {
	if p.done {
		return false
	}
	s.runImport(p)
	return p.req != nil && p.req.NotifyURL != ""
}

func (s *Server) getProcess(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("processId"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.processes[id]
	if p == nil {
		s.reply(w, http.StatusNotFound, "invalid_parameter", "processId is invalid")
		return
	}
	p.polls++
	notify := false
	if p.due.IsZero() && p.polls >= s.opts.ImportPolls || !p.due.IsZero() && !s.opts.Now().Before(p.due) {
		notify = s.finish(p)
	}
	out := s.processAnswer(p)
	if notify {
		body, _ := json.Marshal(out)
		go s.notify(p.id, p.req.NotifyURL, body)
	}
	writeJSON(w, http.StatusOK, out)
}

// processAnswer is GET /processes/{id}'s answer, which the notifyUrl call
// carries too. Caller holds s.mu.
func (s *Server) processAnswer(p *process) map[string]any {
	out := map[string]any{"id": p.id, "name": p.name, "status": "in_process"}
	if p.done {
		out["status"] = "completed"
		if p.req != nil {
			info := map[string]any{}
			for _, k := range reportKinds {
				if len(p.reports[k]) > 0 {
					info[k] = fmt.Sprintf("http://%s/brevotest/reports/%d/%s.csv", p.host, p.id, k)
				} else {
					info[k] = nil
				}
			}
			out["info"] = map[string]any{"import": info}
		}
	}
	return out
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("processId"), 10, 64)
	kind := strings.TrimSuffix(r.PathValue("kind"), ".csv")
	s.mu.Lock()
	p := s.processes[id]
	var rows []string
	if p != nil {
		rows = append(rows, p.reports[kind]...)
	}
	s.mu.Unlock()
	if p == nil || rows == nil {
		http.NotFound(w, r)
		return
	}
	col := "EMAIL"
	if kind == "duplicate_ext_id" {
		col = "EXT_ID"
	}
	w.Header().Set("Content-Type", "text/csv")
	fmt.Fprintln(w, col)
	for _, row := range rows {
		fmt.Fprintln(w, row)
	}
}

// runImport applies an import the way Brevo's importer does: invalid and
// duplicated rows are skipped and listed in reports, unknown attributes are
// ignored, empty values erase only with emptyContactsAttributes. Caller
// holds s.mu.
func (s *Server) runImport(p *process) {
	p.done = true
	p.reports = map[string][]string{}
	b := p.req
	update := b.UpdateExistingContacts == nil || *b.UpdateExistingContacts
	seenEmail, seenExt := map[string]bool{}, map[string]bool{}
	now := s.opts.Now()
	for _, row := range b.JSONBody {
		email := strings.TrimSpace(row.Email)
		ext := ""
		attrs := map[string]any{}
		for k, v := range row.Attributes {
			if strings.EqualFold(k, "EXT_ID") {
				ext = fmt.Sprint(v)
				continue
			}
			attrs[k] = v
		}
		if email == "" || !validEmail(email) {
			p.reports["invalid_emails"] = append(p.reports["invalid_emails"], email)
			continue
		}
		if seenEmail[strings.ToLower(email)] {
			p.reports["duplicate_email_id"] = append(p.reports["duplicate_email_id"], email)
			continue
		}
		seenEmail[strings.ToLower(email)] = true
		if ext != "" {
			if seenExt[ext] {
				p.reports["duplicate_ext_id"] = append(p.reports["duplicate_ext_id"], ext)
				continue
			}
			seenExt[ext] = true
		}
		if sms, ok := attrs["SMS"].(string); ok && !validPhone(sms) {
			s.ignored = append(s.ignored, IgnoredValue{Contact: email, Attribute: "SMS", Value: sms})
			delete(attrs, "SMS")
		}
		clean, _ := s.checkAttrs(email, attrs, true)
		if !b.EmptyContactsAttributes {
			for k, v := range clean {
				if v == nil || v == "" {
					delete(clean, k)
				}
			}
		}
		id := s.byEmail[strings.ToLower(email)]
		if id == 0 && ext != "" {
			id = s.byExtID[ext]
		}
		c := s.contacts[id]
		if c != nil && !update {
			continue
		}
		if c == nil {
			s.nextID++
			c = &Contact{ID: s.nextID, Attributes: map[string]any{}, CreatedAt: now}
			s.contacts[c.ID] = c
		}
		if !strings.EqualFold(c.Email, email) {
			s.setEmail(c, email)
		}
		if ext != "" && ext != c.ExtID {
			if other := s.byExtID[ext]; other != 0 && other != c.ID {
				p.reports["duplicate_ext_id"] = append(p.reports["duplicate_ext_id"], ext)
			} else {
				delete(s.byExtID, c.ExtID)
				c.ExtID = ext
				s.byExtID[ext] = c.ID
			}
		}
		var eb, sb *bool
		if b.EmailBlacklist {
			eb = &b.EmailBlacklist
		}
		if b.SMSBlacklist {
			sb = &b.SMSBlacklist
		}
		s.applyCommon(c, clean, eb, sb, b.ListIDs, nil, now)
	}
}

// ProcessIDs returns the ids of every background process, sorted.
func (s *Server) ProcessIDs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.processes))
	for id := range s.processes {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ImportSize returns how many contacts an import process carried.
func (s *Server) ImportSize(processID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.processes[processID]; p != nil && p.req != nil {
		return len(p.req.JSONBody)
	}
	return 0
}

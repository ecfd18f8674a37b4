package brevo

// SharedEvents is how many records now wait for an event another Write
// carries (eventqueue.go): a test knows from it that a Write reached the
// queue. It synchronises tests; they assert on what reached Brevo.
func SharedEvents(s *Sink) int {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	return s.events.shared
}

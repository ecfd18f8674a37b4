package clickhouse

import (
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/pipelinetest"
)

// The engine's sink acceptance suite, on both backends. Delivered reads
// through FINAL, so the redelivered records count once.
func TestAcceptance(t *testing.T) {
	for _, hb := range []struct {
		name string
		h    func(testing.TB) *backendHarness
	}{{"server", serverHarness}, {"chdb", chdbHarness}} {
		t.Run(hb.name, func(t *testing.T) {
			h := hb.h(t)
			var s *Sink
			pipelinetest.SinkAcceptance(t, pipelinetest.SinkHarness{
				New: func(t *testing.T) pipeline.Sink {
					dsn, dataDir := h.fresh(t)
					cfg := DefaultConfig()
					cfg.DSN, cfg.FlushInterval = dsn, 20*time.Millisecond
					s = NewSink(cfg, pipeline.Env{Name: SinkName, DataDir: dataDir})
					return s
				},
				Delivered: func(t *testing.T) []string {
					var ids []string
					for _, r := range query(t, s.DB(), "SELECT event_id FROM sync_history FINAL WHERE sink = 'clickhouse'").Rows {
						ids = append(ids, r[0].(string))
					}
					return ids
				},
				Idempotent: true,
			})
		})
	}
}

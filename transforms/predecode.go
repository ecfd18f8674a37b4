package transforms

import "github.com/tajo/tajo/pipeline"

// Every stage can start a chain, so each lets the engine decode a record
// ahead of the chain (pipeline.Predecoder): the decode, about a third of
// the chain's work on a full customer, then runs beside the stages instead
// of before them, on the other core.

func (g *guard) Predecode(rec *pipeline.Record)         { g.c.predecode(rec) }
func (s *aggregates) Predecode(rec *pipeline.Record)    { s.c.predecode(rec) }
func (f *filter) Predecode(rec *pipeline.Record)        { f.c.predecode(rec) }
func (r *route) Predecode(rec *pipeline.Record)         { r.c.predecode(rec) }
func (m *mapStage) Predecode(rec *pipeline.Record)      { m.c.predecode(rec) }
func (f *productFilter) Predecode(rec *pipeline.Record) { f.c.predecode(rec) }

package schemas

import _ "embed"

// EventJSONSchema is the JSON Schema of the tajo.event.v1 envelope.
//
//go:embed tajo.event.v1.schema.json
var EventJSONSchema []byte

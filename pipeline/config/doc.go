// Package config is the configuration model of pipeline.yaml: strict
// decoding (an unknown key is an error), ${ENV} and ${ENV:-default}
// interpolation, defaults, and validation that reports every problem at
// once as "path: problem (hint)", and the warnings of keys accepted with
// a remark (Problems.Warn, Config.Warnings).
//
// The engine's own sections (data_dir, server, log, broker, pipeline,
// dead_letter) are typed here. Components (sources, connectors, sinks) and
// the extension sections that later stages add (transforms, tests, …)
// register their config types with Register and RegisterSection, so this
// package never imports a connector and every component's keys are still
// checked strictly.
//
// A component whose settings follow from another's (sinks.brevo's lists
// from connectors.shopify's) declares Derive (Deriver): it runs before
// validation and reads the other config through an interface of its own,
// so components are wired by configuration, not by cmd editing them.
package config

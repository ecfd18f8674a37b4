package plugins

import (
	"context"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/tajo/tajo/plugins/proto/sourcev1"
)

// ProtocolVersion is the newest plugin protocol this build speaks. Version
// 1 is tajo.plugin.source.v1. A protocol change old plugins cannot ignore
// adds version 2 to the plugin sets beside 1, so hosts and plugins of
// different releases still agree on the newest version both know.
const ProtocolVersion = 1

// Handshake must match between host and plugin. The cookie is not a
// security measure: it stops a plugin binary run by hand from waiting
// forever for a host, and lets `tajo plugin` tell a human what it is.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "TAJO_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "5b0e8d6c-tajo-source-plugin",
}

// pluginKey is the name the source plugin is dispensed under.
const pluginKey = "source"

// pluginSets returns the plugin sets by protocol version; impl is nil on
// the host side.
func pluginSets(impl SourcePlugin) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {pluginKey: &grpcPlugin{impl: impl}},
	}
}

// grpcPlugin binds SourcePlugin to go-plugin's gRPC transport; net/rpc is
// refused.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl SourcePlugin
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	sourcev1.RegisterSourceServer(s, &grpcServer{impl: p.impl})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return newGRPCClient(c), nil
}

// maxMessage bounds one gRPC message. gRPC's default of 4 MiB is below the
// webhook body limit, and a webhook's records carry its raw payload beside
// the normalized event: a large but valid delivery must not become a
// permanent 503.
const maxMessage = 64 << 20

func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))...)
}

func dialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage))}
}

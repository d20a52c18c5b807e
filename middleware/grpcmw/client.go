package grpcmw

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/obskit/obskit/internal/cowmap"
)

// Client instruments the calls of a grpc.ClientConn through its
// interceptors; see the package documentation for what it records. It is
// safe for concurrent use, and one Client may serve several connections.
type Client struct {
	side
	prop     propagation.TextMapPropagator
	services map[string]bool // "pkg.Service/Method" of Options.Services
	methods  cowmap.Map[clientKey, *method]
}

// clientKey identifies a method of a target. An unrecognised method is
// stored with an empty method, so that the table holds one entry for all
// of a target's.
type clientKey struct{ target, method string }

// NewClient returns a Client that records into opts.Registry, opts.Tracer
// and opts.Logger. It returns an error when the instruments cannot be
// declared on the Registry or opts.Services holds nil.
func NewClient(opts Options) (*Client, error) {
	c := &Client{
		side: side{client: true, tracer: opts.Tracer, logger: opts.Logger},
		prop: opts.propagator(),
	}
	if len(opts.Services) > 0 {
		c.services = make(map[string]bool)
		for _, sd := range opts.Services {
			if sd == nil {
				return nil, wrapErr("client", errNilService)
			}
			for _, md := range sd.Methods {
				c.services[sd.ServiceName+"/"+md.MethodName] = true
			}
			for _, st := range sd.Streams {
				c.services[sd.ServiceName+"/"+st.StreamName] = true
			}
		}
	}
	if err := c.declare(opts.Registry, "rpc.client", ServerAddrKey, ServerPortKey); err != nil {
		return nil, wrapErr("client", err)
	}
	return c, nil
}

// DialOptions returns the options that install c in a grpc.ClientConn:
// its unary and stream interceptors, outermost in the chain.
func (c *Client) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(c.UnaryInterceptor),
		grpc.WithChainStreamInterceptor(c.StreamInterceptor),
	}
}

// UnaryInterceptor observes a unary call.
func (c *Client) UnaryInterceptor(ctx context.Context, full string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	m := c.method(cc, full, false)
	begin := time.Now()
	ctx, span := c.start(ctx, m, full)
	err := invoker(ctx, full, req, reply, cc, opts...)
	c.end(ctx, m, span, begin, err, -1, -1)
	return err
}

// StreamInterceptor observes a streaming call. The call ends when gRPC
// says it finished (grpc.OnFinish): when the caller has received the
// status, or cancelled the call's context, or the stream failed.
func (c *Client) StreamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, full string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	m := c.method(cc, full, desc.ClientStreams || desc.ServerStreams)
	begin := time.Now()
	ctx, span := c.start(ctx, m, full)
	w := &clientStream{c: c, m: m, ctx: ctx, begin: begin, span: span, msgs: newMessages(span)}
	o := make([]grpc.CallOption, 0, len(opts)+1)
	o = append(append(o, opts...), grpc.OnFinish(w.finish))
	cs, err := streamer(ctx, desc, cc, full, o...)
	if err != nil {
		w.finish(err) // gRPC has called it already; a second call does nothing
		return nil, err
	}
	w.ClientStream = cs
	return w, nil
}

// method returns what c records for the method named full on cc's
// target.
func (c *Client) method(cc *grpc.ClientConn, full string, stream bool) *method {
	target := cc.Target()
	k := clientKey{target, full}
	if m, ok := c.methods.Load(k); ok {
		return m
	}
	name := strings.TrimPrefix(full, "/")
	if !c.known(name) {
		name, k.method = OtherMethod, ""
		stream = true // it may be either
		if m, ok := c.methods.Load(k); ok {
			return m
		}
	}
	return c.methods.LoadOrStore(k, func() *method {
		addr, port := parseTarget(target)
		attrs := []attribute.KeyValue{attribute.String(ServerAddrKey, addr)}
		if port != "" {
			if n, err := strconv.Atoi(port); err == nil {
				attrs = append(attrs, attribute.Int(ServerPortKey, n))
			}
		}
		return c.newMethod(name, stream, attrs, []string{addr, port})
	})
}

// known reports whether name, "pkg.Service/Method", is a method of a
// service in Options.Services or described in the protobuf registry.
func (c *Client) known(name string) bool {
	if c.services[name] {
		return true
	}
	svc, meth, ok := strings.Cut(name, "/")
	if !ok {
		return false
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return false
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	return ok && sd.Methods().ByName(protoreflect.Name(meth)) != nil
}

// start starts the call's span and injects its context into the
// outgoing metadata.
func (c *Client) start(ctx context.Context, m *method, full string) (context.Context, trace.Span) {
	var span trace.Span
	if c.tracer != nil {
		ctx, span = c.tracer.Start(ctx, m.spanName, m.start...)
		if m.name == OtherMethod && span.IsRecording() {
			span.SetAttributes(attribute.String(MethodOriginalKey, truncate(full)))
		}
	}
	car := &outgoingCarrier{}
	car.kv = car.buf[:0]
	c.prop.Inject(ctx, car)
	if len(car.kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, car.kv...)
	}
	return ctx, span
}

// clientStream is the ClientStream a streaming call's caller receives: it
// counts the messages and ends the call once.
type clientStream struct {
	grpc.ClientStream
	c     *Client
	m     *method
	ctx   context.Context
	begin time.Time
	span  trace.Span
	msgs  messages
	done  atomic.Bool
}

func (w *clientStream) finish(err error) {
	if w.done.Swap(true) {
		return
	}
	w.c.end(w.ctx, w.m, w.span, w.begin, err, w.msgs.sent.Load(), w.msgs.received.Load())
}

func (w *clientStream) SendMsg(m any) error {
	err := w.ClientStream.SendMsg(m)
	w.msgs.add(true, err)
	return err
}

func (w *clientStream) RecvMsg(m any) error {
	err := w.ClientStream.RecvMsg(m)
	w.msgs.add(false, err)
	return err
}

// outgoingCarrier collects what a propagator injects, for one
// metadata.AppendToOutgoingContext.
type outgoingCarrier struct {
	kv  []string
	buf [6]string
}

func (c *outgoingCarrier) Get(key string) string {
	for i := 0; i+1 < len(c.kv); i += 2 {
		if c.kv[i] == key {
			return c.kv[i+1]
		}
	}
	return ""
}

func (c *outgoingCarrier) Set(key, value string) {
	c.kv = append(c.kv, strings.ToLower(key), value)
}

func (c *outgoingCarrier) Keys() []string {
	keys := make([]string, 0, len(c.kv)/2)
	for i := 0; i < len(c.kv); i += 2 {
		keys = append(keys, c.kv[i])
	}
	return keys
}

// parseTarget returns the server.address and server.port of a gRPC
// target, as the semantic conventions say: host and port of a dns or
// passthrough target or of a bare "host:port" with a decimal port, the
// path of a unix socket, else the whole target (or endpoint) and no port.
func parseTarget(target string) (addr, port string) {
	endpoint := target
	if i := strings.Index(target, ":"); i > 0 {
		switch scheme := target[:i]; scheme {
		case "dns", "passthrough", "unix", "unix-abstract":
			u, err := url.Parse(target)
			if err != nil {
				return target, ""
			}
			endpoint = u.Opaque
			if endpoint == "" {
				endpoint = strings.TrimPrefix(u.Path, "/")
			}
			if scheme == "unix" || scheme == "unix-abstract" {
				if u.Opaque == "" {
					return u.Path, ""
				}
				return u.Opaque, ""
			}
		default:
			if strings.Contains(target, "://") {
				return target, ""
			}
		}
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return endpoint, ""
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return endpoint, "" // a named or malformed port: no server.port
	}
	return host, port
}

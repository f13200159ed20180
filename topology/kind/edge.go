package kind

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"dpsim/images"
	"dpsim/internal/failpoint"
	"dpsim/topology"
	"dpsim/topology/platform"
)

var (
	_ topology.Ingress = (*Platform)(nil)
	_ topology.Planner = (*Platform)(nil)
)

// edgeNeeds are the capabilities that need the edge (the ingress and its ACME CA) deployed.
var edgeNeeds = []topology.Capability{topology.CapIngress, topology.CapExposure, topology.CapOIDC}

// Plan implements topology.Planner: the edge and the identity provider behind it are deployed
// only for a run that needs them.
func (p *Platform) Plan(needs []topology.Capability) {
	p.withIdentity = needsIdentity(needs)
	p.withEdge = p.withIdentity || slices.ContainsFunc(needs, func(c topology.Capability) bool { return slices.Contains(edgeNeeds, c) })
}

// edgeImages are the edge's image recipes.
func edgeImages() []string { return []string{images.Traefik, images.Pebble} }

// edgeVersions name the edge's software for the report, and what could not be built.
func edgeVersions() map[string]string {
	return map[string]string{
		"traefik": images.TraefikVersion, "pebble": images.PebbleVersion,
		"cert-manager": "not deployed: it cannot be built here (its commands are nested modules the Go module proxy does not serve); the ingress obtains its certificates from the ACME CA itself",
	}
}

// applyEdge deploys the ACME CA and, once it answers, the ingress controller and every tenant's
// web service behind it, then waits until every worker's ingress serves each tenant's host with a
// certificate from the ACME CA: the certificate issuance time.
func (p *Platform) applyEdge(ctx context.Context, opts platform.Options) error {
	start := time.Now()
	ca, err := p.edgeCA(ctx)
	if err != nil {
		return err
	}
	if failpoint.Enabled(failpoint.EdgeCA) {
		wrong, err := platform.NewEdgeCA(ingressNamespace)
		if err != nil {
			return err
		}
		ca.TrustedPEM = wrong.CAPEM
		p.log.Warn("failpoint " + failpoint.EdgeCA + ": the ingress controller trusts a wrong CA for the ACME CA; no certificate can be issued")
	}
	m, err := platform.Edge(p.spec, opts, ca)
	if err != nil {
		return err
	}
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(m.CA), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("deploy the ACME CA: %w", err)
	}
	if err := p.rollout(ctx, ingressNamespace, "deployment/pebble"); err != nil {
		return err
	}
	// Traefik orders its certificates as soon as it sees the tenants' routes, and orders again only
	// when its configuration changes: it starts once the CA answers.
	if err := p.waitFor(ctx, p.opts.ReadyTimeout, func() error { return p.acmeAnswers(ctx) }); err != nil {
		return fmt.Errorf("wait for the ACME CA to answer: %w", err)
	}
	p.log.Info("ACME CA answers", "elapsed", since(start))
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(m.Ingress), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("deploy the ingress: %w", err)
	}
	if err := p.rollout(ctx, ingressNamespace, "daemonset/traefik"); err != nil {
		return err
	}
	for _, t := range p.spec.Tenants {
		if err := p.rollout(ctx, platform.Namespace(t), "deployment/web"); err != nil {
			return err
		}
	}
	p.log.Info("edge ready; waiting for the certificates", "elapsed", since(start))
	issued := time.Now()
	if err := p.waitCertificates(ctx); err != nil {
		return err
	}
	p.certIssuance = time.Since(issued)
	p.log.Info("certificates issued by the ACME CA", "hosts", len(p.servedHosts()), "workers", p.spec.Nodes,
		"issuance", since(issued), "elapsed", since(start))
	return nil
}

// acmeAnswers says whether the ACME CA serves its directory (nil when it does).
func (p *Platform) acmeAnswers(ctx context.Context) error {
	out, err := p.cluster.Kubectl(ctx, nil, "get", "--raw", "/api/v1/namespaces/"+ingressNamespace+"/services/https:pebble:14000/proxy/dir")
	if err != nil {
		return fmt.Errorf("the ACME CA's directory: %w", err)
	}
	if !strings.Contains(string(out), "newOrder") {
		return fmt.Errorf("the ACME CA's directory has no newOrder: %.100q", out)
	}
	return nil
}

// edgeCA is the ACME CA's serving certificate: the one already deployed (a reused cluster's Pebble
// keeps serving it), else a new one.
func (p *Platform) edgeCA(ctx context.Context) (platform.EdgeCA, error) {
	out, err := p.cluster.Kubectl(ctx, nil, "-n", ingressNamespace, "get", "secret", "pebble-tls", "-o", "jsonpath={.data}", "--ignore-not-found")
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		return platform.NewEdgeCA(ingressNamespace)
	}
	var data map[string]string
	if err := json.Unmarshal(out, &data); err != nil {
		return platform.EdgeCA{}, fmt.Errorf("read secret pebble-tls: %w", err)
	}
	var ca platform.EdgeCA
	for key, dst := range map[string]*[]byte{"tls.crt": &ca.CertPEM, "tls.key": &ca.KeyPEM, "ca.crt": &ca.CAPEM} {
		if *dst, err = base64.StdEncoding.DecodeString(data[key]); err != nil || len(*dst) == 0 {
			return platform.EdgeCA{}, fmt.Errorf("secret pebble-tls: no %s", key)
		}
	}
	return ca, nil
}

// rootCAs are the ACME CA's root certificates, from its management API (Pebble makes a new root
// each time it starts).
func (p *Platform) rootCAs(ctx context.Context) ([]byte, error) {
	out, err := p.cluster.Kubectl(ctx, nil, "get", "--raw", "/api/v1/namespaces/"+ingressNamespace+"/services/https:pebble:15000/proxy/roots/0")
	if err != nil {
		return nil, fmt.Errorf("read the ACME CA's root: %w", err)
	}
	if !strings.Contains(string(out), "BEGIN CERTIFICATE") {
		return nil, fmt.Errorf("the ACME CA's root is no PEM certificate: %.100q", out)
	}
	return out, nil
}

// ingressAddresses are the workers' addresses at the ingress's TLS port.
func (p *Platform) ingressAddresses(ctx context.Context) ([]string, error) {
	var out []string
	for _, w := range p.cluster.workerNames() {
		ip, err := p.cluster.NodeIP(ctx, w)
		if err != nil {
			return nil, err
		}
		out = append(out, net.JoinHostPort(ip, "443"))
	}
	return out, nil
}

// Acting on a stalled certificate order: Traefik logs a failed order and orders again only when
// its configuration changes, so a worker whose ingress logged a failure (or went certStall without
// a certificate or a failure) gets a new Traefik pod, with a new ACME account, once the CA answers;
// at most maxIngressRestarts times per worker, after which the last failure is the diagnosis.
const (
	certStall          = 3 * time.Minute
	maxIngressRestarts = 3
)

// waitCertificates waits until every worker's ingress answers each tenant's host name with a
// certificate that chains to the ACME CA's root and names the host, restarting the ingress
// controller of a worker whose order failed. Every 30 s it logs what is not served yet.
func (p *Platform) waitCertificates(ctx context.Context) error {
	addrs, err := p.ingressAddresses(ctx)
	if err != nil {
		return err
	}
	workers := p.cluster.workerNames()
	start := time.Now()
	deadline, next := start.Add(p.opts.ReadyTimeout), start.Add(progressEvery)
	restarts := map[string]int{}
	for {
		var last string
		missing, err := p.certificatesMissing(ctx, workers, addrs)
		switch {
		case err != nil:
			last = err.Error() // the CA's root cannot be read (yet): wait on
		case len(missing) == 0:
			if n := sum(restarts); n > 0 {
				p.log.Info("certificates served after restarting the ingress controller", "restarts", n)
			}
			return nil
		default:
			if err := p.restartStalledIngress(ctx, missing, restarts, deadline); err != nil {
				return err
			}
			last = describeMissing(missing)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("certificates not issued within %s: %s", p.opts.ReadyTimeout, last)
		}
		if time.Now().After(next) {
			p.log.Info("waiting for the certificates", "elapsed", since(start), "not_served", last)
			next = next.Add(progressEvery)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; not served: %s", ctx.Err(), last)
		case <-time.After(2 * time.Second):
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// describeMissing says, on one line, what each worker does not serve yet.
func describeMissing(missing map[string]error) string {
	var parts []string
	for _, w := range slices.Sorted(maps.Keys(missing)) {
		parts = append(parts, fmt.Sprintf("%s: %v", w, missing[w]))
	}
	return strings.Join(parts, "; ")
}

// certificatesMissing maps each worker whose ingress does not serve every host a certificate
// from the ACME CA to what it serves wrong.
func (p *Platform) certificatesMissing(ctx context.Context, workers, addrs []string) (map[string]error, error) {
	pem, err := p.rootCAs(ctx)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	missing := map[string]error{}
	for i, addr := range addrs {
		for _, host := range p.servedHosts() {
			if err := servesCertificate(ctx, addr, host, roots); err != nil {
				missing[workers[i]] = fmt.Errorf("%s at %s: %w", host, addr, err)
				break
			}
		}
	}
	return missing, nil
}

// restartStalledIngress restarts the Traefik pod of each worker in missing whose log shows a failed
// certificate order, or that has run certStall without a certificate, once the ACME CA answers. It
// gives up, with the worker's failure, when a worker's ingress was restarted maxIngressRestarts
// times already or the CA does not answer by deadline; what it cannot read now it logs and tries
// again at the next call.
func (p *Platform) restartStalledIngress(ctx context.Context, missing map[string]error, restarts map[string]int, deadline time.Time) error {
	var pods []pod
	if err := list(ctx, p, ingressNamespace, "pods", &pods, "app=traefik"); err != nil {
		p.log.Warn("list the ingress controllers", "err", err)
		return nil
	}
	for _, w := range slices.Sorted(maps.Keys(missing)) {
		i := slices.IndexFunc(pods, func(x pod) bool { return x.Spec.NodeName == w && x.Metadata.DeletionTimestamp == nil })
		if i < 0 || !pods[i].ready() {
			continue // being replaced, or starting
		}
		name := pods[i].Metadata.Name
		failure, err := p.acmeFailure(ctx, name)
		if err != nil {
			p.log.Warn("read the ingress controller's log", "node", w, "err", err)
			continue
		}
		if failure == "" {
			if started := pods[i].Status.StartTime; started == nil || time.Since(*started) < certStall {
				continue // its orders are under way
			}
			failure = fmt.Sprintf("no certificate after %s and no failed order logged (%v)", certStall, missing[w])
		}
		if restarts[w] >= maxIngressRestarts {
			return fmt.Errorf("the ingress on %s got no certificate after %d restarts of its controller: %s", w, restarts[w], failure)
		}
		p.log.Warn("the ingress's certificate order failed; restarting its controller once the ACME CA answers",
			"node", w, "pod", name, "attempt", restarts[w]+1, "failure", failure)
		if err := p.waitFor(ctx, time.Until(deadline), func() error { return p.acmeAnswers(ctx) }); err != nil {
			return fmt.Errorf("the ingress on %s got no certificate (%s), and the ACME CA does not answer: %w", w, failure, err)
		}
		if _, err := p.cluster.Kubectl(ctx, nil, "-n", ingressNamespace, "delete", "pod", name, "--wait=false"); err != nil {
			p.log.Warn("restart the ingress controller", "node", w, "err", err)
			continue
		}
		restarts[w]++
	}
	return nil
}

// ansiEscape matches a terminal colour sequence.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// acmeFailure is the last failed certificate order in the log of Traefik pod name ("" when none).
func (p *Platform) acmeFailure(ctx context.Context, name string) (string, error) {
	out, err := p.cluster.Kubectl(ctx, nil, "-n", ingressNamespace, "logs", name, "--tail=500")
	if err != nil {
		return "", fmt.Errorf("read the log of %s: %w", name, err)
	}
	return lastACMEFailure(string(out)), nil
}

// lastACMEFailure finds the last line of a Traefik log that reports a failed ACME order or
// account (Traefik logs errors as "ERR" or level=error, coloured unless told not to).
func lastACMEFailure(log string) string {
	lines := strings.Split(strings.TrimSpace(ansiEscape.ReplaceAllString(log, "")), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		isErr := strings.Contains(l, " ERR ") || strings.Contains(l, "level=error")
		if isErr && (strings.Contains(l, "ACME") || strings.Contains(l, "acme")) {
			if len(l) > 600 {
				l = l[:600] + "…"
			}
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// servedHosts are the host names the ingress serves: each tenant's and, when deployed, the
// identity provider's.
func (p *Platform) servedHosts() []string {
	var hosts []string
	for _, t := range p.spec.Tenants {
		hosts = append(hosts, p.spec.TenantHost(t))
	}
	if p.withIdentity {
		hosts = append(hosts, p.spec.AuthHost())
	}
	return hosts
}

// servesCertificate says whether addr answers host with a certificate valid for it under roots.
func servesCertificate(ctx context.Context, addr, host string, roots *x509.CertPool) error {
	d := tls.Dialer{Config: &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}}
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(c, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// IngressEndpoint implements topology.Ingress: the first worker's port 443, each tenant's
// host name, and the ACME CA's root as the platform's CA.
func (p *Platform) IngressEndpoint(ctx context.Context) (topology.IngressEndpoint, error) {
	if !p.withEdge {
		return topology.IngressEndpoint{}, errors.New("the edge was not deployed: the run's scenarios did not need it")
	}
	addrs, err := p.ingressAddresses(ctx)
	if err != nil {
		return topology.IngressEndpoint{}, err
	}
	roots, err := p.rootCAs(ctx)
	if err != nil {
		return topology.IngressEndpoint{}, err
	}
	hosts := map[string]string{}
	for _, t := range p.spec.Tenants {
		hosts[t] = p.spec.TenantHost(t)
	}
	return topology.IngressEndpoint{Address: addrs[0], Hosts: hosts, RootCAs: roots}, nil
}

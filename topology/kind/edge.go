package kind

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"dpsim/images"
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

// applyEdge deploys the ACME CA, the ingress controller and every tenant's web service behind it,
// then waits until every worker's ingress serves each tenant's host with a certificate from the
// ACME CA: the certificate issuance time.
func (p *Platform) applyEdge(ctx context.Context, opts platform.Options) error {
	start := time.Now()
	ca, err := p.edgeCA(ctx)
	if err != nil {
		return err
	}
	manifest, err := platform.Edge(p.spec, opts, ca)
	if err != nil {
		return err
	}
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(manifest), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("deploy the edge: %w", err)
	}
	for _, w := range []string{"deployment/pebble", "daemonset/traefik"} {
		if err := p.rollout(ctx, ingressNamespace, w); err != nil {
			return err
		}
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

// waitCertificates waits until every worker's ingress answers each tenant's host name with a
// certificate that chains to the ACME CA's root and names the host.
func (p *Platform) waitCertificates(ctx context.Context) error {
	addrs, err := p.ingressAddresses(ctx)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(p.opts.ReadyTimeout)
	var last error
	for {
		last = p.certificatesServed(ctx, addrs)
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("certificates not issued within %s: %w", p.opts.ReadyTimeout, last)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-time.After(2 * time.Second):
		}
	}
}

// certificatesServed says what is not served yet (nil when everything is).
func (p *Platform) certificatesServed(ctx context.Context, addrs []string) error {
	pem, err := p.rootCAs(ctx)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	for _, addr := range addrs {
		for _, host := range p.servedHosts() {
			if err := servesCertificate(ctx, addr, host, roots); err != nil {
				return fmt.Errorf("%s at %s: %w", host, addr, err)
			}
		}
	}
	return nil
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

package kind

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"dpsim/internal/testenv"
	"dpsim/topology"
)

// TestIntegrationCertificatesBackupOffboarding stands a tenant up with the edge and Velero: every
// certificate is issued though the ACME CA comes after the ingress controllers, one is renewed before
// it expires, a Velero backup holds every data volume, and offboarding the tenant leaves nothing of
// it (its backup included). It prints the figures it measured (backup size and time).
func TestIntegrationCertificatesBackupOffboarding(t *testing.T) {
	testenv.RequireDocker(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Minute)
	defer cancel()
	spec := topology.Default()
	spec.Name = "dpsim-it-velero"
	spec.Tenants = []string{"tenant-a"}
	// Traefik renews a certificate of under a day when 20 minutes are left: one living 21 minutes
	// is renewed within the test.
	spec.TLS.CertLifetime = "21m"
	const tenant, dataset = "tenant-a", "velero-it"

	p := NewPlatform(testenv.Logger(t), PlatformOptions{})
	p.Plan([]topology.Capability{topology.CapBackup, topology.CapIngress}) // the edge, not the identity provider
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := p.Down(c); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	start := time.Now()
	if err := p.Up(ctx, spec); err != nil {
		t.Fatalf("up: %v", err)
	}
	if missing := p.Unavailable(); len(missing) > 0 {
		t.Fatalf("up without some of its parts: %v", missing)
	}
	t.Logf("platform up in %s, certificates issued in %s", time.Since(start).Round(time.Second), p.certIssuance.Round(100*time.Millisecond))
	certificatesWhenTheCAComesLate(ctx, t, p)
	first := servedCertificate(ctx, t, p, spec.TenantHost(tenant))
	backUp(ctx, t, p, spec, tenant, dataset)
	renewedBeforeExpiry(ctx, t, p, spec.TenantHost(tenant), first)
	offboardLeavesNothing(ctx, t, p, tenant)
}

// certificatesWhenTheCAComesLate holds the ACME CA back until the ingress controllers have started
// and failed their orders (Pebble scaled to 0, Traefik restarted, then Pebble scaled to 1), as on a
// cold start where Traefik comes up first: every host's certificate must still be issued.
func certificatesWhenTheCAComesLate(ctx context.Context, t *testing.T, p *Platform) {
	t.Helper()
	kubectl := func(args ...string) {
		t.Helper()
		if _, err := p.cluster.Kubectl(ctx, nil, append([]string{"-n", ingressNamespace}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	traefiks := func() []pod {
		var pods []pod
		if err := list(ctx, p, ingressNamespace, "pods", &pods, "app=traefik"); err != nil {
			t.Fatal(err)
		}
		return pods
	}
	kubectl("scale", "deployment/pebble", "--replicas=0")
	if err := p.waitFor(ctx, 2*time.Minute, func() error {
		var pods []pod
		if err := list(ctx, p, ingressNamespace, "pods", &pods, "app=pebble"); err != nil || len(pods) > 0 {
			return fmt.Errorf("pebble still has %d pods (%v)", len(pods), err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	kubectl("delete", "pod", "-l", "app=traefik", "--wait=true")
	if err := p.rollout(ctx, ingressNamespace, "daemonset/traefik"); err != nil {
		t.Fatal(err)
	}
	if err := p.waitFor(ctx, 2*time.Minute, func() error {
		for _, tp := range traefiks() {
			if f, err := p.acmeFailure(ctx, tp.Metadata.Name); err != nil || f == "" {
				return fmt.Errorf("%s has logged no failed order yet (%v)", tp.Metadata.Name, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	failed := traefiks()
	kubectl("scale", "deployment/pebble", "--replicas=1")
	back := time.Now()
	// The cause of the stall seen on a cold start: left alone, Traefik does not order again.
	addrs, err := p.ingressAddresses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	alone := p.waitFor(ctx, 45*time.Second, func() error {
		missing, err := p.certificatesMissing(ctx, p.cluster.workerNames(), addrs)
		if err == nil && len(missing) > 0 {
			err = errors.New(describeMissing(missing))
		}
		return err
	})
	t.Logf("left alone for 45 s after the ACME CA came back, the ingress controllers served every certificate: %v (%v)", alone == nil, alone)
	if err := p.waitCertificates(ctx); err != nil {
		t.Fatalf("certificates with an ACME CA that came after the ingress: %v", err)
	}
	restarted := 0
	for _, tp := range traefiks() {
		if !slices.ContainsFunc(failed, func(f pod) bool { return f.Metadata.Name == tp.Metadata.Name }) {
			restarted++
		}
	}
	t.Logf("ACME CA held back until %d ingress controllers had failed their orders: every certificate issued %s after it came back (%d controllers restarted)",
		len(failed), time.Since(back).Round(100*time.Millisecond), restarted)
}

// servedCertificate is the leaf certificate the first worker's ingress serves for host.
func servedCertificate(ctx context.Context, t *testing.T, p *Platform, host string) *x509.Certificate {
	t.Helper()
	addrs, err := p.ingressAddresses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := tls.Dialer{Config: &tls.Config{ServerName: host, InsecureSkipVerify: true}}
	conn, err := d.DialContext(ctx, "tcp", addrs[0])
	if err != nil {
		t.Fatalf("TLS to %s for %s: %v", addrs[0], host, err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
}

// renewedBeforeExpiry requires the ingress to serve host a new certificate from the ACME CA,
// issued before first expired.
func renewedBeforeExpiry(ctx context.Context, t *testing.T, p *Platform, host string, first *x509.Certificate) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		c := servedCertificate(ctx, t, p, host)
		if c.SerialNumber.Cmp(first.SerialNumber) != 0 && slices.Contains(c.DNSNames, host) {
			t.Logf("certificate for %s renewed: the first valid %s to %s, the one served now issued at %s (%s before the first expired) by %q",
				host, first.NotBefore.Format(time.TimeOnly), first.NotAfter.Format(time.TimeOnly), c.NotBefore.Format(time.TimeOnly),
				first.NotAfter.Sub(c.NotBefore).Round(time.Second), c.Issuer.CommonName)
			if !c.NotBefore.Before(first.NotAfter) || c.Issuer.CommonName != first.Issuer.CommonName {
				t.Errorf("the new certificate was not issued by the same CA before the first expired")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("certificate for %s (serial %s, valid to %s) not renewed", host, first.SerialNumber, first.NotAfter)
		}
		time.Sleep(10 * time.Second)
	}
}

// backUp checks the tenants' schedules, writes to tenant's stores, backs the tenant up and requires
// every data volume in the backup and every object of the bucket readable. Destroying and restoring
// the tenant is the backup-restore scenario's, judged in cmd/dpsim's kind test on its platform.
func backUp(ctx context.Context, t *testing.T, p *Platform, spec topology.Spec, tenant, dataset string) {
	schedules, err := p.BackupSchedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(schedules) != len(spec.Tenants) {
		t.Fatalf("schedules %+v, want one per tenant", schedules)
	}
	for _, s := range schedules {
		if s.Cron != spec.Backup.Schedule || len(s.Tenants) != 1 || s.TTL != 720*time.Hour || s.Name != scheduleName(s.Tenants[0]) {
			t.Errorf("schedule %+v, want one tenant's with the spec's cron and retention", s)
		}
	}

	writeRecords(ctx, t, p, tenant, dataset, 200)

	run, err := p.BackUp(ctx, tenant, "it", 2*time.Hour)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Logf("backup %s: phase %s, %d volume backups of %d data volumes, %d bytes, %s; warnings %q",
		run.Name, run.Phase, len(run.Volumes), len(run.DataVolumes), run.Bytes, run.Completed.Sub(run.Started), run.Warnings)
	if run.Phase != "Completed" {
		t.Fatalf("backup phase %s, want Completed", run.Phase)
	}
	if want := spec.Kafka.Brokers + spec.Elasticsearch.Nodes + spec.StackGraph.Datanodes + 1; len(run.DataVolumes) != want { // + HDFS's namenode
		t.Fatalf("%d data volumes, want %d: %+v", len(run.DataVolumes), want, run.DataVolumes)
	}
	for _, dv := range run.DataVolumes {
		if !slices.ContainsFunc(run.Volumes, func(v topology.VolumeBackup) bool { return v.Claim == dv.Claim && v.Phase == "Completed" }) {
			t.Errorf("data volume %s (%s) has no completed volume backup: %+v", dv.Claim, dv.Component, run.Volumes)
		}
	}
	if run.Bytes == 0 || run.Expires.Sub(run.Started) < time.Hour || run.Expires.Sub(run.Started) > 3*time.Hour {
		t.Errorf("backup bytes %d, expires %s after start; want bytes and the 2 h ttl", run.Bytes, run.Expires.Sub(run.Started))
	}

	objects, err := p.BackupObjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, o := range objects {
		size += o.Size
		if o.Unreadable != "" {
			t.Errorf("object %s unreadable: %s", o.Key, o.Unreadable)
		}
	}
	t.Logf("bucket: %d objects, %d bytes", len(objects), size)

}

// offboardLeavesNothing offboards tenant and requires nothing of it to remain.
func offboardLeavesNothing(ctx context.Context, t *testing.T, p *Platform, tenant string) {
	steps, err := p.Offboard(ctx, tenant)
	for _, s := range steps {
		t.Log("offboard: " + s)
	}
	if err != nil {
		t.Fatalf("offboard: %v", err)
	}
	remains, err := p.Remains(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range remains {
		t.Errorf("remains after offboarding: %s %s (%s)", r.Kind, r.Name, r.Where)
	}
}

// writeRecords writes n records to every in-cluster store of tenant; each must acknowledge some.
func writeRecords(ctx context.Context, t *testing.T, p *Platform, tenant, dataset string, n int) {
	t.Helper()
	stores, err := p.Stores(ctx, tenant, dataset)
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string][]string{}
	for _, s := range stores {
		if s.Name() == objectStoreName {
			continue
		}
		var mu sync.Mutex
		ids := func(yield func(string) bool) {
			for i := range n {
				if !yield(fmt.Sprintf("%s-%04d", s.Name(), i)) {
					return
				}
			}
		}
		err := s.WriteStream(ctx, ids, 256, func(r topology.WriteResult) {
			if r.Err == nil {
				mu.Lock()
				acked[s.Name()] = append(acked[s.Name()], r.ID)
				mu.Unlock()
			}
		})
		if err != nil {
			t.Fatalf("write to %s: %v", s.Name(), err)
		}
		if len(acked[s.Name()]) == 0 {
			t.Fatalf("%s acknowledged no write", s.Name())
		}
		t.Logf("%s: %d of %d writes acknowledged", s.Name(), len(acked[s.Name()]), n)
	}
}

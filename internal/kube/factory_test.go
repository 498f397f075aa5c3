package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
)

// Every exported field of ConfigFlags reaches the factory of another context (a field added by a newer
// cli-runtime fails this test until withContext copies it).
func TestWithContextCopiesEveryFlag(t *testing.T) {
	base := genericclioptions.NewConfigFlags(true)
	v := reflect.ValueOf(base).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Pointer:
			v.Field(i).Set(reflect.New(f.Type.Elem()))
		case reflect.Func:
			base.WrapConfigFn = func(c *rest.Config) *rest.Config { return c }
		default:
			t.Fatalf("ConfigFlags.%s has kind %s: teach this test and withContext about it", f.Name, f.Type.Kind())
		}
	}
	got := reflect.ValueOf(withContext(base, "production")).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Name == "Context" {
			if c := got.Field(i).Interface().(*string); c == nil || *c != "production" {
				t.Errorf("Context = %v, want production", c)
			}
			continue
		}
		if got.Field(i).Pointer() != v.Field(i).Pointer() {
			t.Errorf("ConfigFlags.%s is not carried over to the other context", f.Name)
		}
	}
}

// ForContext talks to the other context's server with the client certificate, key and user given as
// flags, and with the raised rate limits.
func TestForContextHonoursAuthFlags(t *testing.T) {
	dir := t.TempDir()
	caCert, caKey, _ := newCA(t)
	certFile, keyFile := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	writeClientCert(t, caCert, caKey, "alice", certFile, keyFile)

	var seen []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := "anonymous"
		if len(r.TLS.PeerCertificates) > 0 {
			user = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		if r.Header.Get("Authorization") != "" {
			user += "+" + r.Header.Get("Authorization")
		}
		seen = append(seen, user)
		if user != "alice" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"major":"1","minor":"34","gitVersion":"v1.34.4"}`)
	}))
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	srvCA := pemCert(srv.Certificate().Raw)

	// "staging" (the current context) is elsewhere; "production" is srv with a user that has a token, and
	// user "bare" has no credentials at all.
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: staging
  cluster: {server: "https://127.0.0.1:1"}
- name: production
  cluster: {server: %q, certificate-authority: %q}
users:
- name: token-user
  user: {token: not-alice}
- name: bare
  user: {}
contexts:
- name: staging
  context: {cluster: staging, user: bare}
- name: production
  context: {cluster: production, user: token-user}
current-context: staging
`, srv.URL, writeFile(t, dir, "srv-ca.crt", srvCA))), 0o600); err != nil {
		t.Fatal(err)
	}

	flags := genericclioptions.NewConfigFlags(true)
	flags.KubeConfig = &kubeconfig
	user, cert, key := "bare", certFile, keyFile
	flags.AuthInfoName, flags.CertFile, flags.KeyFile = &user, &cert, &key
	f := ForContext(NewFactory(flags, nil, nil), "production")

	cfg, err := f.ToRESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != srv.URL || cfg.QPS != 50 || cfg.Burst != 100 {
		t.Errorf("config: host %s, QPS %v, burst %d; want %s, 50, 100", cfg.Host, cfg.QPS, cfg.Burst, srv.URL)
	}
	kc, err := f.Kubernetes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.Discovery().ServerVersion(); err != nil {
		t.Fatalf("server version through --context production --user bare --client-certificate --client-key: %v (server saw %q)", err, seen)
	}
	if strings.Join(seen, ",") != "alice" {
		t.Errorf("server saw %q, want only alice (the flags' certificate, no token of the context's own user)", seen)
	}
	// The base factory still points at its own context.
	bcfg, err := NewFactory(flags, nil, nil).ToRESTConfig()
	if err != nil || bcfg.Host != "https://127.0.0.1:1" {
		t.Errorf("base factory host = %v, %v", bcfg, err)
	}
	if ForContext(NewFactory(flags, nil, nil), "").Flags() != flags {
		t.Error("ForContext with no name must return the factory itself")
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key, pemCert(der)
}

func writeClientCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pemCert(der), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

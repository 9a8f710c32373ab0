//! TLS for Postgres over rustls, with libpq's sslmode semantics:
//! - allow/prefer/require without a root certificate encrypt without checking
//!   the server's certificate (libpq does the same);
//! - any mode with a root certificate (sslrootcert, or ~/.postgresql/root.crt
//!   when it exists) checks the chain, like verify-ca;
//! - verify-ca checks the chain but not the host name; verify-full checks both;
//! - a self-signed server certificate given as the root itself is trusted as
//!   it stands (OpenSSL, and so psql, do this; webpki refuses a CA certificate
//!   as the end entity), within its validity period and, for verify-full, for
//!   the host name.

use super::params::{ConnParams, SslMode};
use crate::error::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;
use x509_cert::der::Decode;

/// What the certificate check is, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Encrypt, accept any certificate.
    None,
    /// The chain must lead to a root in this file (or the system roots).
    Chain(String),
    /// The chain and the host name.
    Full(String),
}

/// A connector for tokio-postgres plus a description of what it checks.
#[derive(Clone)]
pub struct Tls {
    inner: MakeRustlsConnect,
    pub check: Check,
}

impl Tls {
    /// The connector for these parameters; `None` when sslmode=disable, so no
    /// certificate file is read for a plain connection (as libpq).
    pub fn for_params(p: &ConnParams) -> Result<Option<Tls>> {
        if p.sslmode == SslMode::Disable {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let root = root_source(p)?;
        let (verifier, check): (Arc<dyn ServerCertVerifier>, Check) = match root {
            None => (
                Arc::new(AcceptAny(provider.signature_verification_algorithms)),
                Check::None,
            ),
            Some(Roots {
                store,
                pinned,
                label,
            }) => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                        .build()
                        .map_err(|e| Error::Usage(format!("sslrootcert {label}: {e}")))?;
                let full = p.sslmode == SslMode::VerifyFull;
                let verifier = Arc::new(Verify {
                    webpki,
                    pinned,
                    full,
                });
                let check = if full {
                    Check::Full(label)
                } else {
                    Check::Chain(label)
                };
                (verifier, check)
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Usage(format!("TLS setup failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(Tls {
            inner: MakeRustlsConnect::new(config),
            check,
        }))
    }
}

/// The roots a server certificate may chain to, and the certificates of the
/// file as they are (a pinned self-signed server certificate is one of them).
struct Roots {
    store: RootCertStore,
    pinned: Vec<CertificateDer<'static>>,
    label: String,
}

/// Root certificates: sslrootcert (a PEM file, or `system`), else
/// ~/.postgresql/root.crt if present. verify-ca/verify-full without any is
/// an error, with libpq's advice.
fn root_source(p: &ConnParams) -> Result<Option<Roots>> {
    let verify = matches!(p.sslmode, SslMode::VerifyCa | SslMode::VerifyFull);
    let path = match p.sslrootcert.as_deref() {
        Some("system") => {
            let store = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            return Ok(Some(Roots {
                store,
                pinned: Vec::new(),
                label: "system".into(),
            }));
        }
        Some(explicit) => PathBuf::from(explicit),
        None => {
            let default = p.home.as_ref().map(|h| h.join(".postgresql/root.crt"));
            match default {
                Some(d) if d.is_file() => d,
                other if verify => {
                    let shown = other.map_or_else(
                        || "~/.postgresql/root.crt".into(),
                        |d| d.display().to_string(),
                    );
                    return Err(Error::Usage(format!(
                        "sslmode={} needs a root certificate but \"{shown}\" does not exist; set sslrootcert=/path/to/ca.pem (or sslrootcert=system), or use sslmode=require to encrypt without verifying",
                        p.sslmode.as_str()
                    )));
                }
                _ => return Ok(None),
            }
        }
    };
    let label = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::Usage(format!(
            "could not read root certificate file \"{label}\": {e}; fix sslrootcert / PGSSLROOTCERT"
        ))
    })?;
    let mut store = RootCertStore::empty();
    let mut pinned = Vec::new();
    for cert in rustls_pemfile::certs(&mut bytes.as_slice()) {
        let cert = cert.map_err(|e| {
            Error::Usage(format!(
                "root certificate file \"{label}\" is not valid PEM: {e}"
            ))
        })?;
        store.add(cert.clone()).map_err(|e| {
            Error::Usage(format!(
                "root certificate file \"{label}\" holds an unusable certificate: {e}"
            ))
        })?;
        pinned.push(cert);
    }
    if pinned.is_empty() {
        return Err(Error::Usage(format!(
            "root certificate file \"{label}\" contains no PEM certificates"
        )));
    }
    Ok(Some(Roots {
        store,
        pinned,
        label,
    }))
}

impl<S> MakeTlsConnect<S> for Tls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<Self::TlsConnect, Self::Error> {
        // tokio-postgres asks for a connector even for Unix sockets, where the
        // name is empty and TLS is never used; any valid name does there.
        let name = if hostname.is_empty() {
            "localhost"
        } else {
            hostname
        };
        <MakeRustlsConnect as MakeTlsConnect<S>>::make_tls_connect(&mut self.inner, name)
    }
}

/// libpq's sslmode=require without a root certificate: encrypted, but any
/// certificate is accepted. Handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// verify-ca and verify-full: the full webpki check, where verify-ca accepts
/// a name mismatch (webpki checks the chain before the name, so a name error
/// means the chain passed); a certificate that is itself one of the roots in
/// the file is trusted as it stands, as OpenSSL does.
#[derive(Debug)]
struct Verify {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    full: bool,
}

impl Verify {
    fn pinned_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let cert = x509_cert::Certificate::from_der(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let validity = &cert.tbs_certificate.validity;
        let now = now.as_secs();
        if now < validity.not_before.to_unix_duration().as_secs() {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet,
            ));
        }
        if now > validity.not_after.to_unix_duration().as_secs() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        if self.full {
            let parsed = ParsedCertificate::try_from(end_entity)?;
            verify_server_name(&parsed, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }
}

impl ServerCertVerifier for Verify {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return self.pinned_cert(end_entity, server_name, now);
        }
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.full => Ok(ServerCertVerified::assertion()),
            // A CA certificate as the server's that is not one of the pinned
            // roots: untrusted, whatever webpki calls it. webpki's own error
            // type is not a dependency here, so its name is read off the text.
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(e)))
                if format!("{e:?}").contains("CaUsedAsEndEntity") =>
            {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer,
                ))
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

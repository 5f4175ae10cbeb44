//! TLS set-up shared by the load engine and the GitHub client: one process-wide rustls
//! crypto provider.

/// Installs rustls' ring provider as the process default (once). reqwest and octocrab build
/// their TLS from the process default; loadgate's own connections pass the provider explicitly.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only when a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

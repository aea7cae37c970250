//! Shared harness of the whole-system tests: real `iskra-server` instances on loopback, real
//! `iskra-engine` devices in their own data directories, and fakes of external services that
//! speak the real protocols (an OAuth2 + JWKS issuer standing in for Clerk).
pub mod device;
pub mod fake_issuer;
pub mod proxy;
pub mod server;

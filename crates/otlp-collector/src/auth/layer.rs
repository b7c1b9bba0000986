//! Where receivers check credentials: a tower layer in front of the gRPC services, and a check the HTTP handler
//! runs on the headers before it reads the body.

use super::{AuthAttributes, Authenticator};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Refuses gRPC calls whose credentials the authenticator does not accept, with `UNAUTHENTICATED`.
#[derive(Clone)]
pub(crate) struct AuthenticateLayer {
    authenticator: Option<Arc<dyn Authenticator>>,
    receiver: Arc<str>,
}

impl AuthenticateLayer {
    /// A layer checking with `authenticator`, or letting everything through without one.
    pub(crate) fn new(authenticator: Option<Arc<dyn Authenticator>>, receiver: String) -> Self {
        AuthenticateLayer {
            authenticator,
            receiver: receiver.into(),
        }
    }
}

impl<S> tower::Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            authenticator: self.authenticator.clone(),
            receiver: self.receiver.clone(),
        }
    }
}

/// The service [`AuthenticateLayer`] makes.
#[derive(Clone)]
pub(crate) struct Authenticate<S> {
    inner: S,
    authenticator: Option<Arc<dyn Authenticator>>,
    /// Shared: tonic clones the whole service stack for every call.
    receiver: Arc<str>,
}

impl<S, B, R> tower::Service<http::Request<B>> for Authenticate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        futures::future::Either<S::Future, std::future::Ready<Result<http::Response<R>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if let Some(authenticator) = &self.authenticator {
            match authenticator.authenticate(request.headers()) {
                Err(reason) => {
                    tracing::debug!(receiver = %self.receiver, %reason, "refused a gRPC call: not authenticated");
                    let status = tonic::Status::unauthenticated("not authenticated");
                    return futures::future::Either::Right(std::future::ready(Ok(
                        status.into_http()
                    )));
                }
                Ok(attributes) if !attributes.is_empty() => {
                    request
                        .extensions_mut()
                        .insert(Authenticated(Arc::new(attributes)));
                }
                Ok(_) => {}
            }
        }
        futures::future::Either::Left(self.inner.call(request))
    }
}

/// What the authenticator learnt of a gRPC call's client, left in the call's extensions for the service.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub(crate) Arc<AuthAttributes>);

/// The HTTP handler's check: `Err` with the reason (for the log) when the request is refused.
pub(crate) fn check_http(
    authenticator: Option<&Arc<dyn Authenticator>>,
    headers: &http::HeaderMap,
) -> Result<AuthAttributes, String> {
    authenticator.map_or(Ok(AuthAttributes::new()), |authenticator| {
        authenticator.authenticate(headers)
    })
}

//! A tower [`Layer`]/[`Service`] that balances requests over per-endpoint inner services.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::balancer::Balance;
use crate::endpoint::{Endpoint, EndpointId};
use crate::retry::{FailoverError, RetryPolicy, call_with_failover};

/// The error type of [`BalanceService`]: the inner service's error (from the last attempt),
/// or this crate's [`Error`](crate::Error) when there was no endpoint to try.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Makes the inner service for one endpoint (a client connected to it). Implemented for any
/// `Fn(&Endpoint) -> S`.
pub trait MakeEndpointService: Send + Sync + 'static {
    /// The per-endpoint service.
    type Service;
    /// A service sending to `endpoint`; called once per endpoint while it stays in the set.
    fn make(&self, endpoint: &Endpoint) -> Self::Service;
}

impl<F, S> MakeEndpointService for F
where
    F: Fn(&Endpoint) -> S + Send + Sync + 'static,
{
    type Service = S;

    fn make(&self, endpoint: &Endpoint) -> S {
        self(endpoint)
    }
}

/// How a request's routing key is found (for keyed algorithms).
pub trait KeyOf<Req>: Clone + Send + Sync + 'static {
    /// The request's key hash ([`hash_key`](crate::hash_key) of its bytes), if it has one.
    fn key_of(&self, request: &Req) -> Option<u64>;
}

/// Requests carry no key.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKey;

impl<Req> KeyOf<Req> for NoKey {
    fn key_of(&self, _request: &Req) -> Option<u64> {
        None
    }
}

impl<Req, F> KeyOf<Req> for F
where
    F: Fn(&Req) -> Option<u64> + Clone + Send + Sync + 'static,
{
    fn key_of(&self, request: &Req) -> Option<u64> {
        self(request)
    }
}

/// Balances a service's requests over the balancer's endpoints, with retries that fail over
/// to the next candidate. Wraps a [`MakeEndpointService`] (see [`BalanceService`]).
pub struct BalanceLayer<B: ?Sized, K = NoKey> {
    balancer: Arc<B>,
    key_of: K,
    retry: RetryPolicy,
}

impl<B: ?Sized, K: Clone> Clone for BalanceLayer<B, K> {
    fn clone(&self) -> Self {
        Self {
            balancer: Arc::clone(&self.balancer),
            key_of: self.key_of.clone(),
            retry: self.retry.clone(),
        }
    }
}

impl<B: Balance + ?Sized> BalanceLayer<B, NoKey> {
    /// Balances over `balancer`'s endpoints, without a key, one attempt per request.
    pub fn new(balancer: Arc<B>) -> Self {
        Self {
            balancer,
            key_of: NoKey,
            retry: RetryPolicy::none(),
        }
    }
}

impl<B: Balance + ?Sized, K> BalanceLayer<B, K> {
    /// Routes each request by the key `key_of` finds in it.
    pub fn with_key<K2>(self, key_of: K2) -> BalanceLayer<B, K2> {
        BalanceLayer {
            balancer: self.balancer,
            key_of,
            retry: self.retry,
        }
    }

    /// Retries failed requests under `retry`, each on the next candidate endpoint.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

impl<B: Balance + ?Sized, K: Clone, M: MakeEndpointService> Layer<M> for BalanceLayer<B, K> {
    type Service = BalanceService<B, K, M>;

    fn layer(&self, make: M) -> Self::Service {
        BalanceService {
            balancer: Arc::clone(&self.balancer),
            key_of: self.key_of.clone(),
            retry: self.retry.clone(),
            services: Arc::new(ServiceCache {
                make,
                cached: Mutex::new((0, HashMap::new())),
            }),
        }
    }
}

struct ServiceCache<M: MakeEndpointService> {
    make: M,
    /// Inner services by endpoint, and the membership version they were pruned at.
    cached: Mutex<(u64, HashMap<EndpointId, M::Service>)>,
}

impl<M> ServiceCache<M>
where
    M: MakeEndpointService,
    M::Service: Clone,
{
    /// The endpoint's service, made on first use; services of endpoints that left the set
    /// are dropped when the membership version moves.
    fn get<B: Balance + ?Sized>(&self, endpoint: &Endpoint, balancer: &B) -> M::Service {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        let version = balancer.version();
        if cached.0 != version {
            let current = balancer.endpoints();
            cached
                .1
                .retain(|id, _| current.iter().any(|e| e.id() == id));
            cached.0 = version;
        }
        cached
            .1
            .entry(endpoint.id().clone())
            .or_insert_with(|| self.make.make(endpoint))
            .clone()
    }
}

/// The service [`BalanceLayer`] makes: each request is sent to the endpoint the balancer
/// picks, through that endpoint's inner service (made once per endpoint by `M`, cloned per
/// request, as with tonic channels or hyper clients). Failures are reported to the balancer
/// and retried per the layer's [`RetryPolicy`], on the next candidate.
///
/// Always ready: readiness of the chosen inner service is awaited inside the call, since
/// which endpoint a request goes to is only known then.
pub struct BalanceService<B: ?Sized, K, M: MakeEndpointService> {
    balancer: Arc<B>,
    key_of: K,
    retry: RetryPolicy,
    services: Arc<ServiceCache<M>>,
}

impl<B: ?Sized, K: Clone, M: MakeEndpointService> Clone for BalanceService<B, K, M> {
    fn clone(&self) -> Self {
        Self {
            balancer: Arc::clone(&self.balancer),
            key_of: self.key_of.clone(),
            retry: self.retry.clone(),
            services: Arc::clone(&self.services),
        }
    }
}

impl<Req, B, K, M, S> Service<Req> for BalanceService<B, K, M>
where
    Req: Clone + Send + 'static,
    B: Balance + ?Sized,
    K: KeyOf<Req>,
    M: MakeEndpointService<Service = S>,
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let balancer = Arc::clone(&self.balancer);
        let services = Arc::clone(&self.services);
        let retry = self.retry.clone();
        let key = self.key_of.key_of(&request);
        let membership = Arc::clone(&balancer);
        Box::pin(async move {
            let outcome = call_with_failover(&*balancer, key, &retry, move |endpoint| {
                let mut service = services.get(&endpoint, &*membership);
                let request = request.clone();
                async move {
                    std::future::poll_fn(|cx| service.poll_ready(cx))
                        .await
                        .map_err(Into::into)?;
                    service.call(request).await.map_err(Into::into)
                }
            })
            .await;
            outcome.map_err(|error| match error {
                FailoverError::NoEndpoint(error) => Box::new(error) as BoxError,
                FailoverError::Exhausted { last, .. }
                | FailoverError::BudgetExhausted { last, .. } => last,
            })
        })
    }
}

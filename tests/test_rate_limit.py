from core.rate_limit import RateLimiter


def test_a_burst_passes_then_the_user_is_slowed_down():
    limiter = RateLimiter(burst=3, per_second=1.0)
    assert [limiter.allow(1, 0.0) for _ in range(4)] == [True, True, True, False]


def test_tokens_come_back_at_the_sustained_rate():
    limiter = RateLimiter(burst=2, per_second=2.0)
    limiter.allow(1, 0.0), limiter.allow(1, 0.0)
    assert limiter.allow(1, 0.1) is False
    assert limiter.allow(1, 0.5) is True


def test_users_are_limited_independently():
    limiter = RateLimiter(burst=1, per_second=0.1)
    assert limiter.allow(1, 0.0) and limiter.allow(2, 0.0)
    assert not limiter.allow(1, 0.0)


def test_memory_stays_bounded_by_forgetting_refilled_users():
    limiter = RateLimiter(burst=1, per_second=1.0, max_users=10)
    for user in range(100):
        limiter.allow(user, float(user * 10))
    assert len(limiter._buckets) <= 10


def test_a_time_earlier_than_the_last_one_refills_nothing():
    limiter = RateLimiter(burst=1, per_second=1.0)
    assert limiter.allow(1, 10.0)
    assert not limiter.allow(1, 5.0)  # out of order: no negative refill, no refund either
    assert limiter.allow(1, 11.0)

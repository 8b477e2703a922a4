// Redis's alerts (libs/redis), from redis_exporter beside the server.
import { AlertRule } from './rule';

export const REDIS_ALERTS: AlertRule[] = [
  {
    alert: 'RedisDown',
    expr: 'redis_up == 0',
    for: '2m',
    severity: 'critical',
    summary: 'Redis in {{ $labels.namespace }} does not answer its exporter',
    description: 'Caches miss and queued work cannot be queued or taken. kubectl -n redis logs redis-0 -c redis: a crash, a full volume (the append-only file), or the redis-auth password changed under a running server.',
  },
  {
    alert: 'RedisMemoryNearlyFull',
    expr: 'redis_memory_used_bytes / (redis_memory_max_bytes > 0) > 0.9',
    for: '10m',
    severity: 'warning',
    summary: 'Redis in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its maxMemory',
    description: 'At maxMemory Redis evicts keys with an expiry (caches) and then refuses writes, which fails queued work. See who holds what (redis-cli --bigkeys); raise components.redis.maxMemory with the memory limit, or shorten cache expiries.',
  },
];

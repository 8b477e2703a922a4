// Redis (libs/redis): up, memory against maxMemory, clients, commands, evictions and keys per database.
import { dashboard, stat, timeseries } from './builder';
import { podResources } from './panels';

const W = '$__rate_interval';

export const REDIS_DASHBOARD = dashboard({
  uid: 'redis',
  title: 'Redis',
  tags: ['platform', 'data'],
  description: 'The platform Redis (docs/redis.md): memory against maxMemory, clients, commands, evictions and keys per database, from redis_exporter.',
  panels: [
    stat('Up', { expr: 'max(redis_up) or vector(0)' }),
    stat('Memory used of maxMemory', { expr: 'max(redis_memory_used_bytes / (redis_memory_max_bytes > 0)) or vector(0)' }, { unit: 'percentunit', redAt: 0.9 }),
    stat('Connected clients', { expr: 'sum(redis_connected_clients) or vector(0)' }),
    stat('Evicted keys (1h)', { expr: 'sum(increase(redis_evicted_keys_total[1h])) or vector(0)' }, { redAt: 1 }),
    timeseries('Memory', [
      { expr: 'sum(redis_memory_used_bytes)', legend: 'used' },
      { expr: 'sum(redis_memory_max_bytes)', legend: 'maxMemory' },
    ], { unit: 'bytes' }),
    timeseries('Commands per second', [{ expr: `sum by (cmd) (rate(redis_commands_total[${W}]))`, legend: '{{cmd}}' }], { unit: 'ops' }),
    timeseries('Keys per database', [{ expr: 'sum by (db) (redis_db_keys)', legend: '{{db}}' }]),
    timeseries('Cache hits and misses per second', [
      { expr: `sum(rate(redis_keyspace_hits_total[${W}]))`, legend: 'hits' },
      { expr: `sum(rate(redis_keyspace_misses_total[${W}]))`, legend: 'misses' },
    ], { unit: 'ops' }),
    ...podResources('redis'),
  ],
});

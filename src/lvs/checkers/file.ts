/**
 * FILE_CHECK (keepalived/check/check_file.c, core/track_file.c): the tracked file's integer,
 * times the weight (the FILE_CHECK's, else the track_file's; `reverse` negates it). With weight 0
 * the real server is down while the value is non-zero; otherwise the product is added to the real
 * server's weight, and a result at or below -IPVS_WEIGHT_MAX-1... keepwatch's rule: a sum below 0
 * is down (keepalived's IPVS_WEIGHT_FAULT reading of a large negative value), a sum of 0 is up with weight 0.
 */
import { fail, type Checker } from './common.js';

export const fileCheck: Checker = async (c, t, ctx) => {
  const tf = ctx.trackFile;
  if (!tf) return fail('error', `track_file ${c.trackFile ?? ''} is not defined`);
  const r = await ctx.probes.readInteger(tf.path);
  const value = r.ok ? r.value : 0;
  const weight = c.fileWeight ?? tf.weight;
  const reverse = c.fileWeight !== undefined ? c.fileWeightReverse === true : tf.reverse;
  if (weight === 0) return value !== 0 ? fail('file-value', `${tf.path} holds ${value}`) : { result: 'ok', weight: t.weight };
  const delta = value * weight * (reverse ? -1 : 1);
  const sum = t.weight + delta;
  if (sum < 0) return fail('file-value', `${tf.path} holds ${value}: weight ${t.weight}${delta >= 0 ? '+' : ''}${delta} is below 0`);
  return { result: 'ok', weight: Math.min(sum, 65535), weightDelta: delta, ...(r.ok ? {} : { detail: `${r.detail} (read as 0)` }) };
};

// Nothing listens for writes to the pxcodes any more: the collection's state is read per request
// (shared reads), and cached answers are keyed by the version that read returns. The exact inverse
// of the migration that made the trigger, so its statements are used as they stand.
export { down as up, up as down } from './20261126010000_pxcodes_notify';

// Every `meshless` subcommand, in the order `meshless --help` lists them. To add one, write
// src/commands/<name>.ts exporting `register(program, ctx)` and add one line below.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import * as agent from './agent.js';
import * as bgp from './bgp.js';
import * as certs from './certs.js';
import * as cluster from './cluster.js';
import * as cni from './cni.js';
import * as dashboard from './dashboard.js';
import * as datastore from './datastore.js';
import * as demo from './demo.js';
import * as get from './get.js';
import * as ipam from './ipam.js';
import * as kubeController from './kube-controller.js';
import * as label from './label.js';
import * as patch from './patch.js';
import * as rr from './rr.js';
import * as sync from './sync.js';
import * as version from './version.js';
import * as watch from './watch.js';
import * as write from './write.js';

export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

export const COMMANDS: readonly CommandModule[] = [
  write, // apply, create, replace, delete
  get,
  patch,
  label,
  watch,
  ipam,
  cni,
  datastore,
  sync,
  agent,
  rr,
  bgp,
  kubeController,
  dashboard,
  demo,
  version,
  certs,
  cluster,
];

/**
 * `npx cdk synth` / `npx cdk deploy` run this (cdk.json). Offline and without credentials, synth bundles
 * the three handlers with the local esbuild and checks the template with cdk-nag.
 */
import { createApp } from "./lib/app.ts";

createApp().app.synth();

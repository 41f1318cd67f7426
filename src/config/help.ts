/** The environment part of `eureka-drainer --help`, generated from the tables the drainer reads. */
import { OWNER_ROWS } from '../owner/config';
import { POD_DEADLINE_VARIABLES } from './pod-deadline';
import { usageTable } from './reference';
import { VARIABLES } from './variables';

export const ENVIRONMENT_USAGE = `Environment (docs/configuration.md says more; durations take Spring's forms, 35s, 500ms,
PT35S, or a bare number in the variable's own unit; booleans true/false, on/off, yes/no, 1/0):

${usageTable([...Object.values(VARIABLES), ...Object.values(POD_DEADLINE_VARIABLES)])}

Owner mode (DRAINER_MODE=owner):

${usageTable(Object.values(OWNER_ROWS))}`;

// OpenShift's apps.openshift.io/v1 DeploymentConfig, in the same table format as gen/k8s-types.ts
// (written from the API's published type definitions). Only the shape matters to injection: which
// fields exist, and which Go always serializes (`test`, `triggers`, the status counters).

export const OPENSHIFT_STRUCTS: Record<string, readonly (readonly string[])[]> = {
  'oapps.DeploymentConfig': [
    ['TypeMeta', '', 'meta.TypeMeta', 'i'],
    ['ObjectMeta', 'metadata', 'meta.ObjectMeta', 'o'],
    ['Spec', 'spec', 'oapps.DeploymentConfigSpec'],
    ['Status', 'status', 'oapps.DeploymentConfigStatus', 'o'],
  ],
  'oapps.DeploymentConfigSpec': [
    ['Strategy', 'strategy', 'oapps.DeploymentStrategy'],
    ['MinReadySeconds', 'minReadySeconds', 'int32', 'o'],
    ['Triggers', 'triggers', '[]oapps.DeploymentTriggerPolicy'],
    ['Replicas', 'replicas', 'int32'],
    ['RevisionHistoryLimit', 'revisionHistoryLimit', '*int32', 'o'],
    ['Test', 'test', 'bool'],
    ['Paused', 'paused', 'bool', 'o'],
    ['Selector', 'selector', 'map[string]', 'o'],
    ['Template', 'template', '*core.PodTemplateSpec', 'o'],
  ],
  'oapps.DeploymentStrategy': [
    ['Type', 'type', 'string', 'o'],
    ['CustomParams', 'customParams', '*oapps.CustomDeploymentStrategyParams', 'o'],
    ['RecreateParams', 'recreateParams', '*oapps.RecreateDeploymentStrategyParams', 'o'],
    ['RollingParams', 'rollingParams', '*oapps.RollingDeploymentStrategyParams', 'o'],
    ['Resources', 'resources', 'core.ResourceRequirements', 'o'],
    ['Labels', 'labels', 'map[string]', 'o'],
    ['Annotations', 'annotations', 'map[string]', 'o'],
    ['ActiveDeadlineSeconds', 'activeDeadlineSeconds', '*int64', 'o'],
  ],
  'oapps.CustomDeploymentStrategyParams': [
    ['Image', 'image', 'string', 'o'],
    ['Environment', 'environment', '[]core.EnvVar', 'o'],
    ['Command', 'command', '[]string', 'o'],
  ],
  'oapps.RecreateDeploymentStrategyParams': [
    ['TimeoutSeconds', 'timeoutSeconds', '*int64', 'o'],
    ['Pre', 'pre', '*oapps.LifecycleHook', 'o'],
    ['Mid', 'mid', '*oapps.LifecycleHook', 'o'],
    ['Post', 'post', '*oapps.LifecycleHook', 'o'],
  ],
  'oapps.RollingDeploymentStrategyParams': [
    ['UpdatePeriodSeconds', 'updatePeriodSeconds', '*int64', 'o'],
    ['IntervalSeconds', 'intervalSeconds', '*int64', 'o'],
    ['TimeoutSeconds', 'timeoutSeconds', '*int64', 'o'],
    ['MaxUnavailable', 'maxUnavailable', '*IntOrString', 'o'],
    ['MaxSurge', 'maxSurge', '*IntOrString', 'o'],
    ['Pre', 'pre', '*oapps.LifecycleHook', 'o'],
    ['Post', 'post', '*oapps.LifecycleHook', 'o'],
  ],
  'oapps.LifecycleHook': [
    ['FailurePolicy', 'failurePolicy', 'string'],
    ['ExecNewPod', 'execNewPod', '*oapps.ExecNewPodHook', 'o'],
    ['TagImages', 'tagImages', '[]oapps.TagImageHook', 'o'],
  ],
  'oapps.ExecNewPodHook': [
    ['Command', 'command', '[]string'],
    ['Env', 'env', '[]core.EnvVar', 'o'],
    ['ContainerName', 'containerName', 'string'],
    ['Volumes', 'volumes', '[]string', 'o'],
  ],
  'oapps.TagImageHook': [
    ['ContainerName', 'containerName', 'string'],
    ['To', 'to', 'core.ObjectReference'],
  ],
  'oapps.DeploymentTriggerPolicy': [
    ['Type', 'type', 'string', 'o'],
    ['ImageChangeParams', 'imageChangeParams', '*oapps.DeploymentTriggerImageChangeParams', 'o'],
  ],
  'oapps.DeploymentTriggerImageChangeParams': [
    ['Automatic', 'automatic', 'bool', 'o'],
    ['ContainerNames', 'containerNames', '[]string', 'o'],
    ['From', 'from', 'core.ObjectReference'],
    ['LastTriggeredImage', 'lastTriggeredImage', 'string', 'o'],
  ],
  'oapps.DeploymentConfigStatus': [
    ['LatestVersion', 'latestVersion', 'int64'],
    ['ObservedGeneration', 'observedGeneration', 'int64'],
    ['Replicas', 'replicas', 'int32'],
    ['UpdatedReplicas', 'updatedReplicas', 'int32'],
    ['AvailableReplicas', 'availableReplicas', 'int32'],
    ['UnavailableReplicas', 'unavailableReplicas', 'int32'],
    ['Details', 'details', '*oapps.DeploymentDetails', 'o'],
    ['Conditions', 'conditions', '[]oapps.DeploymentCondition', 'o', 'merge', 'type'],
    ['ReadyReplicas', 'readyReplicas', 'int32', 'o'],
  ],
  'oapps.DeploymentDetails': [
    ['Message', 'message', 'string', 'o'],
    ['Causes', 'causes', '[]oapps.DeploymentCause'],
  ],
  'oapps.DeploymentCause': [
    ['Type', 'type', 'string'],
    ['ImageTrigger', 'imageTrigger', '*oapps.DeploymentCauseImageTrigger', 'o'],
  ],
  'oapps.DeploymentCauseImageTrigger': [
    ['From', 'from', 'core.ObjectReference'],
  ],
  'oapps.DeploymentCondition': [
    ['Type', 'type', 'string'],
    ['Status', 'status', 'string'],
    ['LastUpdateTime', 'lastUpdateTime', 'Time', 'o'],
    ['LastTransitionTime', 'lastTransitionTime', 'Time', 'o'],
    ['Reason', 'reason', 'string', 'o'],
    ['Message', 'message', 'string', 'o'],
  ],
};

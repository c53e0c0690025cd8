"""The AWS boundary: the only package that imports boto3.

DynamoDB tables (instances, watermarks, lease, status, the event log and its index), the SQS
events and dead-letter queues, and EventBridge Scheduler schedules, each through one cached
client per service.
"""

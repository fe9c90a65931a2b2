//! AWS stand-ins: moto_server and LocalStack processes, and a paging DescribeAlarms stand-in.

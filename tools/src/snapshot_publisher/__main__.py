import sys

from snapshot_publisher.cli import main

sys.exit(main())

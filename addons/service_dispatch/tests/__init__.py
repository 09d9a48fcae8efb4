from . import test_access_matrix
from . import test_appliance
from . import test_caller_lookup
from . import test_demo
from . import test_request
from . import test_work_order
from . import test_views
from . import test_work_order_flow

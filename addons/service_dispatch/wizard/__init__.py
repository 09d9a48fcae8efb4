from . import service_dispatch_request_close
from . import service_dispatch_work_order_transition
from . import service_dispatch_intake
from . import service_dispatch_work_order_dispatch

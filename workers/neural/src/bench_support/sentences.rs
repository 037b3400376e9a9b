//! The benchmark's mixed set: 35 short and medium sentences and 7 long passages that
//! exceed the model's 256-token window (so they are truncated, as sentence-transformers
//! truncates them).

/// Short and medium sentences (about 8 to 60 tokens).
pub(crate) const SHORT: [&str; 35] = [
    "The invoice is due at the end of the month.",
    "A man is playing a guitar on the street.",
    "Please find attached the signed contract for the new office lease.",
    "The weather in Lisbon was sunny and warm all week.",
    "Our quarterly revenue grew by twelve percent compared with last year.",
    "The cat slept on the windowsill while the rain kept falling.",
    "Machine learning models need carefully prepared training data.",
    "She submitted her resume for the senior software engineer position.",
    "The train to Munich leaves from platform seven at 14:35.",
    "Add two cups of flour and stir until the dough is smooth.",
    "The committee approved the budget after a long discussion about priorities and risks.",
    "Customers can return any product within thirty days of purchase for a full refund.",
    "The patient was advised to rest and drink plenty of fluids.",
    "A new species of frog was discovered in the rainforest of Borneo.",
    "Install the package, then restart the service to apply the new configuration.",
    "The museum is closed on Mondays and public holidays.",
    "Interest rates are expected to remain unchanged until the end of the year.",
    "He scored the winning goal in the last minute of extra time.",
    "Solar panels on the roof now cover most of the building's electricity needs.",
    "The library extended its opening hours during the examination period.",
    "This agreement shall be governed by the laws of the State of New York, and any \
     dispute arising out of it shall be settled by the courts of New York County.",
    "We measured the thermal conductivity of the samples at temperatures between 20 and \
     300 kelvin and found a clear dependence on grain size.",
    "The children built a sandcastle and decorated it with shells they found on the beach.",
    "Employees must complete the security training before they receive access to the \
     production systems, and the training has to be renewed every year.",
    "The recipe calls for fresh basil, ripe tomatoes, garlic, olive oil and a pinch of salt.",
    "Traffic on the motorway was heavy because of an accident near the airport exit.",
    "The orchestra performed Beethoven's ninth symphony to a sold-out concert hall.",
    "Our support team answers questions by email and phone from Monday to Friday.",
    "The startup raised forty million dollars in a funding round led by two venture \
     capital firms, and plans to hire engineers in Berlin and Toronto.",
    "Volcanic ash disrupted flights across northern Europe for several days.",
    "To reset your password, open the settings page and choose the security tab.",
    "The novel follows three generations of a family living in a small coastal village.",
    "Regular exercise and a balanced diet reduce the risk of heart disease.",
    "The board of directors will meet on Thursday to review the merger proposal, the \
     auditors' report and the updated forecast for the next fiscal year.",
    "Bees play an essential role in pollinating crops and wild plants.",
];

/// Long passages (each well over 256 tokens).
pub(crate) const LONG: [&str; 7] = [
    "The quarterly report shows that revenue increased in every region, led by strong \
     demand in North America and a recovery in Southern Europe after two difficult years. \
     Gross margin improved by one and a half points because of lower freight costs, a \
     better product mix and the first savings from the consolidation of our warehouses. \
     Operating expenses rose more slowly than sales, although we continued to invest in \
     research and development, in the new customer portal and in the training of our \
     sales teams. Net income reached a record level for a third quarter, and free cash \
     flow allowed us to reduce net debt by another eighty million euros while paying the \
     interim dividend approved by the board. The order backlog at the end of September \
     was the highest in the company's history, which gives us confidence for the fourth \
     quarter and the beginning of next year. Nevertheless, we remain cautious about the \
     economic environment: energy prices are volatile, several large customers have \
     postponed investment decisions, and exchange rates weighed on reported figures. We \
     therefore confirm our guidance for the full year rather than raising it, and we will \
     keep a close eye on working capital, inventories and receivables in the coming months. \
     Management would like to thank all employees for their commitment during a period of \
     intense activity, and our shareholders for their continued trust and support. The next report, covering the fourth quarter and the \
     full year, will be published in February together with the audited accounts.",
    "In this paper we study the convergence of stochastic gradient descent for \
     over-parameterized neural networks trained on noisy labels. We first show that, under \
     a mild assumption on the smallest eigenvalue of the neural tangent kernel, the \
     training loss decreases linearly until the network starts to interpolate the noise. \
     We then characterise the time at which memorisation begins as a function of the \
     learning rate, the batch size and the signal-to-noise ratio of the data. Our analysis \
     suggests a simple early-stopping rule that requires neither a validation set nor \
     knowledge of the noise level. Experiments on image classification benchmarks with \
     synthetic and real label noise confirm the theory: the proposed rule selects a \
     stopping time within a few percent of the best possible one, and it outperforms \
     common heuristics based on the training loss. We also discuss the limits of the \
     approach, in particular its sensitivity to the choice of learning rate schedule and \
     to strong class imbalance, and we outline several directions for future work, \
     including extensions to transformers, to adaptive optimisers such as Adam, and to \
     semi-supervised settings in which only part of the data is labelled. All code and \
     data needed to reproduce the experiments are publicly available, together with the \
     random seeds and the exact versions of the software libraries that were used. We thank the anonymous reviewers for their helpful \
     comments on an earlier version of this manuscript.",
    "Jane Doe is a senior data engineer with eight years of experience designing and \
     operating large-scale data platforms in the financial and retail sectors. At her \
     current employer she leads a team of six engineers responsible for the streaming \
     infrastructure that processes more than two billion events per day, and she \
     introduced a data quality framework that reduced incidents by forty percent. Before \
     that she worked as a software developer at a logistics company, where she built the \
     route optimisation service and migrated the legacy batch jobs to a cloud-based \
     workflow engine. She holds a master's degree in computer science from the Technical \
     University of Munich and a bachelor's degree in mathematics. Her technical skills \
     include Python, Scala, SQL, Kafka, Spark, Kubernetes and Terraform, and she is \
     certified as a cloud solutions architect. She speaks English, German and Spanish, \
     mentors junior engineers, and regularly speaks at meetups about data reliability and \
     observability. In her free time she enjoys climbing, cycling and volunteering at a \
     coding school for refugees. References and a portfolio of open-source contributions \
     are available on request, and she is open to roles that combine hands-on engineering \
     with technical leadership in a product-focused organisation. She is available to start after a notice period of \
     three months and prefers a hybrid working arrangement in Munich or Berlin.",
    "Before you install the appliance, read all instructions and keep this manual for \
     future reference. Remove the packaging materials and check that the unit has not been \
     damaged during transport; do not use it if the power cord or the housing is damaged. \
     Place the appliance on a flat, stable and heat-resistant surface, at least ten \
     centimetres away from walls and other objects, and make sure the ventilation openings \
     are never covered. Connect the power cord only to a grounded socket whose voltage \
     matches the rating plate. To start, press the power button once; the display shows \
     the default programme and the indicator light turns green. Use the arrow keys to \
     select a programme and the plus and minus keys to adjust the time and temperature. \
     During operation the outer surfaces can become hot, so use the handles and keep \
     children away from the appliance. After use, switch the unit off, unplug it and let \
     it cool down completely before cleaning. Wipe the housing with a damp cloth and a \
     mild detergent; never immerse the appliance in water or use abrasive cleaners. If the \
     display shows an error code, consult the troubleshooting table at the end of this \
     manual, and contact customer service if the problem persists after a restart. The warranty does not cover damage caused by \
     improper use, unauthorised repairs or the use of spare parts that are not original, \
     and it lapses if the serial number has been removed.",
    "The city council voted on Tuesday evening to approve a new plan for public \
     transport that will add three tram lines, extend the metro to the northern suburbs \
     and introduce a single ticket valid on buses, trams, trains and ferries. The mayor \
     said the plan would cut commuting times for tens of thousands of residents and help \
     the city meet its climate targets, while opposition members criticised the cost, \
     estimated at two point four billion euros over ten years, and questioned whether the \
     regional government would deliver its share of the funding. Construction of the \
     first tram line is expected to start next spring, and the council promised to limit \
     disruption for shops along the route by working in short sections and at night \
     where possible. Local business associations welcomed the decision but asked for \
     compensation during the works, and cycling groups called for protected bike lanes \
     to be built at the same time. Public consultations on the exact routes will be held \
     in each district over the summer, and residents can also submit comments online. \
     The transport authority will publish a detailed timetable, together with an \
     environmental impact study, before the final contracts are signed at the end of the \
     year, and the first trams could carry passengers within four years. The council will review progress every six months and report \
     publicly on costs, delays and passenger numbers, as required by the new transparency \
     rules adopted last year by a large majority of its members.",
    "This Services Agreement is entered into between the Client and the Provider, each \
     a party and together the parties. The Provider shall perform the services described \
     in the statement of work with reasonable skill and care, in accordance with good \
     industry practice and all applicable laws and regulations. The Client shall pay the \
     fees set out in the schedule within thirty days of receipt of a valid invoice; late \
     payments bear interest at the statutory rate. Either party may terminate this \
     agreement for convenience by giving ninety days' written notice, or immediately if \
     the other party commits a material breach that is not remedied within thirty days \
     of a written request to do so. Each party shall keep confidential all information \
     received from the other party and shall not disclose it to any third party without \
     prior written consent, except to its professional advisers or where required by law. \
     Neither party shall be liable for any indirect or consequential loss, and the total \
     liability of each party under this agreement shall not exceed the fees paid in the \
     twelve months preceding the claim. All intellectual property rights in the \
     deliverables shall vest in the Client upon full payment. This agreement constitutes \
     the entire agreement between the parties and supersedes all prior negotiations, \
     representations and understandings, whether written or oral. No amendment to this agreement shall be effective unless \
     made in writing and signed by authorised representatives of both parties.",
    "Dear Mr Thompson, thank you for your letter of the twelfth of March concerning the \
     delayed delivery of your order and the damaged packaging of the second parcel. I am \
     sorry for the inconvenience this has caused you, and I would like to explain what \
     happened. Because of a technical problem in our distribution centre, several orders \
     placed during the first week of March were dispatched later than planned, and our \
     carrier was unable to keep to its usual delivery times during the storms that \
     affected the region. We have now replaced the damaged items, which should reach you \
     within three working days, and we have refunded the delivery charge to your credit \
     card. In addition, please accept the enclosed voucher as a gesture of goodwill, which \
     you can use for any purchase in our online shop or in one of our stores until the end \
     of the year. We have also reviewed our packaging guidelines with the carrier so that \
     fragile goods are better protected in the future. Should you have any further \
     questions, please do not hesitate to contact me directly by telephone or by email; \
     I will be glad to help. We value your custom and hope to continue serving you for \
     many years to come. Yours sincerely, Maria Schneider, Customer Relations Manager. P.S. Our new spring catalogue is enclosed, and members \
     of our loyalty programme receive free delivery on all orders until the end of May.",
];

/// The whole set: short sentences with the long passages spread among them.
pub(super) fn mixed_set() -> Vec<&'static str> {
    let mut out = Vec::with_capacity(SHORT.len() + LONG.len());
    let mut long = LONG.iter();
    for (i, s) in SHORT.iter().enumerate() {
        out.push(*s);
        if i % 5 == 4 {
            if let Some(l) = long.next() {
                out.push(*l);
            }
        }
    }
    out.extend(long);
    out
}
